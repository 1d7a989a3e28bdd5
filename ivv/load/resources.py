"""Sample a service's memory, CPU and open file descriptors on the target while a load runs.

Every `interval_s` one shell command over `target.run` reads /proc for the service's main process
(found by systemd unit MainPID, a pidfile, a pid or a `pgrep -f` pattern, resolved again at each sample
so a restart shows as a new pid). CPU % comes from utime+stime deltas over the device's own uptime.
A leak shows as a slope: `memory_fit` fits RSS against time by least squares over the steady window
(after the warm-up) and gives MB/min; the steady-state figure is the mean RSS of that window.
"""

from __future__ import annotations

import csv
import shlex
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ivv.errors import ConfigError

FIELDS = ("t_s", "wall", "pid", "rss_mb", "cpu_pct", "fds", "threads")


@dataclass(frozen=True)
class ProcessSelector:
    """How to find the service's process on the target: exactly one of unit, pidfile, pid, pattern."""

    unit: str | None = None
    pidfile: str | None = None
    pid: int | None = None
    pattern: str | None = None
    sudo: bool = False

    def __post_init__(self) -> None:
        given = [k for k in ("unit", "pidfile", "pid", "pattern") if getattr(self, k)]
        if len(given) != 1:
            raise ConfigError(f"process selector: give exactly one of unit, pidfile, pid, pattern (got {given})")

    def shell(self) -> str:
        if self.unit:
            return f"systemctl show -p MainPID --value {shlex.quote(self.unit)}"
        if self.pidfile:
            return f"cat {shlex.quote(self.pidfile)}"
        if self.pid:
            return f"echo {int(self.pid)}"
        return f"pgrep -o -f {shlex.quote(self.pattern)}"

    @property
    def label(self) -> str:
        if self.unit:
            return f"unit {self.unit}"
        if self.pidfile:
            return f"pidfile {self.pidfile}"
        return f"pid {self.pid}" if self.pid else f"process matching {self.pattern!r}"


def sample_command(selector: ProcessSelector) -> str:
    """One round trip: pid, device uptime, utime/stime ticks, VmRSS, threads, fd count, CLK_TCK."""
    script = (
        f"pid=$({selector.shell()} 2>/dev/null | head -n1); "
        'if [ -z "$pid" ] || [ "$pid" = 0 ] || [ ! -r /proc/$pid/stat ]; then echo NOPID; exit 0; fi; '
        'echo "pid $pid"; '
        'echo "uptime $(cut -d" " -f1 /proc/uptime)"; '
        "echo \"ticks $(sed 's/^.*) //' /proc/$pid/stat | cut -d' ' -f12,13)\"; "
        "echo \"rss_kb $(awk '/^VmRSS:/{print $2}' /proc/$pid/status)\"; "
        "echo \"threads $(awk '/^Threads:/{print $2}' /proc/$pid/status)\"; "
        'echo "fds $(ls /proc/$pid/fd 2>/dev/null | wc -l)"; '
        'echo "clk $(getconf CLK_TCK)"'
    )
    if selector.sudo:
        return f"sudo -n sh -c {shlex.quote(script)}"
    return script


def parse_sample(text: str) -> dict | None:
    """The fields of one `sample_command` answer; None when the process is not there."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip() == "NOPID":
            return None
        key, _, rest = line.partition(" ")
        values[key] = rest.strip()
    try:
        utime, stime = (int(x) for x in values["ticks"].split())
        return {"pid": int(values["pid"]), "uptime": float(values["uptime"]), "ticks": utime + stime,
                "rss_mb": int(values["rss_kb"]) * 1024 / 1e6, "threads": int(values.get("threads") or 0),
                "fds": int(values["fds"]), "clk": int(values.get("clk") or 100)}
    except (KeyError, ValueError):
        return None


class ResourceSampler:
    """Background thread sampling one process until `stop()`; at most `max_samples` samples."""

    def __init__(self, target, selector: ProcessSelector, interval_s: float = 1.0, max_samples: int = 7200,
                 command_timeout_s: float = 10.0):
        self.target, self.selector, self.interval_s = target, selector, interval_s
        self.max_samples, self.command_timeout_s = max_samples, command_timeout_s
        self.samples: list[dict] = []
        self.errors: list[str] = []
        self.missing = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ivv-resources", daemon=True)
        self._command = sample_command(selector)
        self._started = 0.0
        self._last: dict | None = None

    def start(self) -> ResourceSampler:
        self._started = time.time()
        self._thread.start()
        return self

    def stop(self) -> list[dict]:
        self._stop.set()
        self._thread.join(timeout=self.command_timeout_s + self.interval_s + 1)
        return self.samples

    def __enter__(self) -> ResourceSampler:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _loop(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set() and len(self.samples) < self.max_samples:
            self.sample_once()
            next_at += self.interval_s
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def sample_once(self) -> dict | None:
        before = time.time()
        try:
            result = self.target.run(self._command, timeout=self.command_timeout_s)
        except Exception as exc:  # an unreachable device is recorded, the run goes on
            self.errors.append(f"{type(exc).__name__}: {exc}"[:200])
            return None
        wall = (before + time.time()) / 2
        raw = parse_sample(result.stdout)
        if raw is None:
            self.missing += 1
            if result.exit_status != 0:
                self.errors.append(f"exit {result.exit_status}: {result.stderr.strip()[:160]}")
            return None
        cpu = None
        last = self._last
        if last is not None and last["pid"] == raw["pid"] and raw["uptime"] > last["uptime"]:
            cpu = 100.0 * (raw["ticks"] - last["ticks"]) / raw["clk"] / (raw["uptime"] - last["uptime"])
        self._last = raw
        sample = {"t_s": round(wall - self._started, 3), "wall": wall, "pid": raw["pid"],
                  "rss_mb": round(raw["rss_mb"], 3), "cpu_pct": None if cpu is None else round(cpu, 2),
                  "fds": raw["fds"], "threads": raw["threads"]}
        self.samples.append(sample)
        return sample


def memory_fit(samples: list[dict], warmup_s: float = 0.0) -> dict:
    """Least-squares RSS(t) over the steady window (after warm-up, last pid only): slope MB/min, mean MB."""
    if not samples:
        return {"samples": 0, "slope_mb_per_min": None, "steady_mb": None, "peak_mb": None}
    last_pid = samples[-1]["pid"]
    window = [s for s in samples if s["t_s"] >= warmup_s and s["pid"] == last_pid]
    out = {"samples": len(window), "pids": sorted({s["pid"] for s in samples}),
           "peak_mb": max(s["rss_mb"] for s in samples), "warmup_s": warmup_s}
    if len(window) < 3:
        return {**out, "slope_mb_per_min": None, "steady_mb": None, "intercept_mb": None, "window_s": None}
    n = len(window)
    ts = [s["t_s"] for s in window]
    ys = [s["rss_mb"] for s in window]
    mt, my = sum(ts) / n, sum(ys) / n
    sxx = sum((t - mt) ** 2 for t in ts)
    slope_s = sum((t - mt) * (y - my) for t, y in zip(ts, ys, strict=True)) / sxx if sxx else 0.0
    return {**out, "slope_mb_per_min": slope_s * 60.0, "intercept_mb": my - slope_s * mt, "steady_mb": my,
            "window_s": [ts[0], ts[-1]]}


def write_csv(samples: list[dict], path: Path) -> Path:
    path = Path(path)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        for s in samples:
            writer.writerow({k: s.get(k) for k in FIELDS})
    return path
