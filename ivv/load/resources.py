"""Sample a service's memory, CPU and open file descriptors on the target while a load runs.

A shell loop started with one `target.run` reads /proc on the device every `interval_s` for the service's
main process (found by systemd unit MainPID, a pidfile, a pid or a `pgrep -f` pattern, resolved again at
each sample so a restart shows as a new pid). CPU % comes from utime+stime deltas over the device's own
uptime.
A leak shows as a slope: `memory_fit` fits RSS against time by least squares over the steady window
(after the warm-up) and gives MB/min; the steady-state figure is the mean RSS of that window.
"""

from __future__ import annotations

import csv
import shlex
import statistics
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from ivv.errors import ConfigError

FIELDS = ("t_s", "wall", "pid", "rss_mb", "cpu_pct", "fds", "threads")


@dataclass(frozen=True)
class ProcessSelector:
    """How to find the service's process on the target: exactly one of unit, pidfile, pid, pattern, port
    (the process listening on it) or container (its main process, `engine` docker or podman)."""

    unit: str | None = None
    pidfile: str | None = None
    pid: int | None = None
    pattern: str | None = None
    port: int | None = None
    container: str | None = None
    engine: str = "docker"
    sudo: bool = False

    WAYS = ("unit", "pidfile", "pid", "pattern", "port", "container")

    def __post_init__(self) -> None:
        given = [k for k in self.WAYS if getattr(self, k)]
        if len(given) != 1:
            raise ConfigError(f"process selector: give exactly one of {', '.join(self.WAYS)} (got {given})")

    def shell(self) -> str:
        if self.unit:
            return f"systemctl show -p MainPID --value {shlex.quote(self.unit)}"
        if self.pidfile:
            return f"cat {shlex.quote(self.pidfile)}"
        if self.pid:
            return f"echo {int(self.pid)}"
        if self.port:
            return (f"ss -ltnpH 'sport = :{int(self.port)}' | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2")
        if self.container:
            return f"{self.engine} inspect -f '{{{{.State.Pid}}}}' {shlex.quote(self.container)}"
        return f"pgrep -o -f {shlex.quote(self.pattern)}"

    @property
    def label(self) -> str:
        if self.unit:
            return f"unit {self.unit}"
        if self.pidfile:
            return f"pidfile {self.pidfile}"
        if self.port:
            return f"process listening on port {self.port}"
        if self.container:
            return f"container {self.container} ({self.engine})"
        return f"pid {self.pid}" if self.pid else f"process matching {self.pattern!r}"


def sample_loop_command(selector: ProcessSelector, interval_s: float, max_samples: int, stop_file: str) -> str:
    """A loop that runs ON the target: one line per sample every `interval_s` until `stop_file` exists or
    `max_samples` were taken. `S uptime pid utime stime rss_kb threads fds clk`, or `S uptime NOPID`.
    Sampling on the device keeps the interval fixed however slow the SSH round trip is."""
    # Shell builtins only inside the loop (read, set, case, globs): a fork costs tens of ms on a small or
    # emulated device. The pid is looked up again only when its process is gone.
    resolve = f"pid=$({selector.shell()} 2>/dev/null | head -n1)"
    script = (
        f"i=0; clk=$(getconf CLK_TCK); {resolve}; "
        f"while [ $i -lt {int(max_samples)} ] && [ ! -e {shlex.quote(stop_file)} ]; do "
        'read up _ < /proc/uptime; '
        f'if [ -z "$pid" ] || [ ! -r /proc/$pid/stat ]; then {resolve}; fi; '
        'if [ -n "$pid" ] && [ "$pid" != 0 ] && read -r line 2>/dev/null < /proc/$pid/stat; then '
        'set -- ${line##*) }; t="${12} ${13}"; r=; th=; '
        'while read -r k v _; do case $k in VmRSS:) r=$v;; Threads:) th=$v;; esac; done < /proc/$pid/status; '
        'set -- /proc/$pid/fd/*; '
        'echo "S $up $pid $t $r $th $# $clk"; '
        'else echo "S $up NOPID"; pid=; fi; '
        f"i=$((i+1)); sleep {interval_s:g}; done; rm -f {shlex.quote(stop_file)}"
    )
    if selector.sudo:
        return f"sudo -n sh -c {shlex.quote(script)}"
    return script


def parse_samples(text: str) -> tuple[list[dict], int]:
    """Raw samples (device uptime, pid, ticks, RSS, threads, fds) from the loop's output, and how many
    times the process was not there."""
    samples, missing = [], 0
    for line in text.splitlines():
        parts = line.split()
        if not parts or parts[0] != "S":
            continue
        if len(parts) == 3 and parts[2] == "NOPID":
            missing += 1
            continue
        try:
            _, up, pid, utime, stime, rss_kb, threads, fds, clk = parts
            samples.append({"uptime": float(up), "pid": int(pid), "ticks": int(utime) + int(stime),
                            "rss_mb": int(rss_kb) * 1024 / 1e6, "threads": int(threads), "fds": int(fds),
                            "clk": int(clk)})
        except ValueError:
            missing += 1
    return samples, missing


class ResourceSampler:
    """Samples one process on the target in a background thread until `stop()`.

    The loop runs on the target (one long `target.run`); `stop()` creates the stop file and collects its
    output. Sample times are the device's uptime mapped to this machine's clock by one offset measured
    just before the loop starts (the error is half an SSH round trip; the slope uses device time only).
    """

    def __init__(self, target, selector: ProcessSelector, interval_s: float = 1.0, max_duration_s: float = 3600.0,
                 command_timeout_s: float = 30.0):
        self.target, self.selector, self.interval_s = target, selector, interval_s
        self.max_samples = max(2, int(max_duration_s / interval_s) + 2)
        self.command_timeout_s = command_timeout_s
        self.max_duration_s = max_duration_s
        self.samples: list[dict] = []
        self.errors: list[str] = []
        self.missing = 0
        self.stop_file = f"/tmp/ivv-sampler-{uuid.uuid4().hex[:12]}.stop"
        self._output = ""
        self._offset: float | None = None
        self._thread = threading.Thread(target=self._loop, name="ivv-resources", daemon=True)

    def start(self) -> ResourceSampler:
        try:
            before = time.time()
            up = float(self.target.run("cut -d' ' -f1 /proc/uptime", timeout=self.command_timeout_s).stdout.split()[0])
            self._offset = (before + time.time()) / 2 - up
        except Exception as exc:  # an unreachable device is recorded; the load still runs
            self.errors.append(f"uptime: {type(exc).__name__}: {exc}"[:200])
            return self
        self._thread.start()
        return self

    def _loop(self) -> None:
        command = sample_loop_command(self.selector, self.interval_s, self.max_samples, self.stop_file)
        try:
            result = self.target.run(command, timeout=self.max_duration_s + self.command_timeout_s)
            self._output = result.stdout
            if result.exit_status != 0:
                self.errors.append(f"sampler exit {result.exit_status}: {result.stderr.strip()[:160]}")
        except Exception as exc:
            self.errors.append(f"sampler: {type(exc).__name__}: {exc}"[:200])

    def stop(self) -> list[dict]:
        if self._thread.is_alive():
            try:
                self.target.run(f"touch {shlex.quote(self.stop_file)}", timeout=self.command_timeout_s)
            except Exception as exc:
                self.errors.append(f"stop: {type(exc).__name__}: {exc}"[:200])
            self._thread.join(timeout=self.interval_s + self.command_timeout_s + 5)
        raw, self.missing = parse_samples(self._output)
        self.samples = to_samples(raw, self._offset or 0.0)
        return self.samples

    def __enter__(self) -> ResourceSampler:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def to_samples(raw: list[dict], offset: float, started: float | None = None) -> list[dict]:
    """Raw samples -> rows with this machine's wall time, CPU % between consecutive samples of one pid."""
    rows, last = [], None
    for r in raw:
        cpu = None
        if last is not None and last["pid"] == r["pid"] and r["uptime"] > last["uptime"]:
            cpu = 100.0 * (r["ticks"] - last["ticks"]) / r["clk"] / (r["uptime"] - last["uptime"])
        last = r
        wall = offset + r["uptime"]
        rows.append({"t_s": round(wall - (started if started is not None else offset + raw[0]["uptime"]), 3),
                     "wall": wall, "pid": r["pid"], "rss_mb": round(r["rss_mb"], 3),
                     "cpu_pct": None if cpu is None else round(cpu, 2), "fds": r["fds"], "threads": r["threads"]})
    return rows


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
    ts = [s["t_s"] for s in window]
    ys = [s["rss_mb"] for s in window]
    my = statistics.fmean(ys)
    if len(set(ts)) < 2:
        slope_s, intercept = 0.0, my
    else:
        slope_s, intercept = statistics.linear_regression(ts, ys)
    # RSS is read in kB (0.001 MB), so digits past 1e-4 MB/min are rounding noise, not growth.
    return {**out, "slope_mb_per_min": round(slope_s * 60.0, 4) + 0.0, "intercept_mb": intercept, "steady_mb": my,
            "window_s": [ts[0], ts[-1]]}


def write_csv(samples: list[dict], path: Path) -> Path:
    path = Path(path)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        for s in samples:
            writer.writerow({k: s.get(k) for k in FIELDS})
    return path
