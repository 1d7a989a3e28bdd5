"""Run a load in its own process while sampling the service's resources from this one.

Locust needs gevent's monkey-patching, which must not leak into pytest or asyncio code, so the load runs
as `python -m ivv.load.run` and this side only reads its outputs. Everything is bounded: the child is
killed after duration + timeouts + a margin, and the sampler thread stops with it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ivv.errors import IvvError
from ivv.load.resources import ProcessSelector, ResourceSampler, memory_fit, write_csv
from ivv.load.spec import TOKEN_ENV, LoadSpec
from ivv.report import plots

START_MARGIN_S = 60.0


class LoadRunError(IvvError):
    """The load process failed or did not finish in time; the message carries the tail of its log."""


@dataclass
class LoadOutcome:
    """What one run produced: the load result (result.json), resource samples and their fit, file paths."""

    out_dir: Path
    result: dict
    samples: list[dict] = field(default_factory=list)
    fit: dict = field(default_factory=dict)
    sampler_errors: list[str] = field(default_factory=list)
    frames: dict | None = None     # {"route": FrameRoute, "watch": WatchResult} when the camera was watched

    @property
    def summary(self) -> dict:
        return self.result["summary"]

    def path(self, name: str) -> Path:
        return self.out_dir / name

    def files(self) -> dict[str, Path]:
        names = ("result.json", "requests.csv", "locust_stats.csv", "locust_stats_history.csv",
                 "locust_failures.csv", "locust_exceptions.csv", "locust_report.html", "latency.svg",
                 "resources.csv", "resources.json", "memory.svg")
        return {n: self.out_dir / n for n in names if (self.out_dir / n).exists()}


def run_load(spec: LoadSpec, out_dir: str | Path, token: str | None = None, workers: int = 0, target=None,
             selector: ProcessSelector | None = None, sample_interval_s: float = 1.0,
             warmup_s: float | None = None, frames=None, hosts=()) -> LoadOutcome:
    """Run `spec` (local runner, or master + `workers` processes + each load-generator host's workers,
    `ivv.load.remote.LoadHost`), sampling `selector` on `target` and reading the camera's frames from
    `frames` (an `ivv.load.camera_watch.FrameRoute`) meanwhile."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    spec_path = spec.write(out_dir / "spec.json")
    env = dict(os.environ)
    env.pop(TOKEN_ENV, None)
    if token:
        env[TOKEN_ENV] = token
    budget = spec.duration_s + 2 * spec.timeout_s + START_MARGIN_S + (30 if workers else 0) + (60 if hosts else 0)
    command = [sys.executable, "-m", "ivv.load.run", "--spec", str(spec_path), "--out", str(out_dir)]
    if workers:
        command += ["--workers", str(int(workers))]
    if hosts:
        hosts_path = out_dir / "hosts.json"
        hosts_path.write_text(json.dumps([h.to_dict() for h in hosts], indent=1))
        command += ["--hosts", str(hosts_path)]
    sampler = watcher = None
    if frames is not None:
        from ivv.load.camera_watch import FrameWatcher

        watcher = FrameWatcher(frames, max_duration_s=budget).start()
    if target is not None and selector is not None:
        sampler = ResourceSampler(target, selector, interval_s=sample_interval_s, max_duration_s=budget).start()
    log_path = out_dir / "load.log"
    try:
        with open(log_path, "w") as log:
            proc = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=budget)
    except subprocess.TimeoutExpired as exc:
        raise LoadRunError(f"load process did not finish within {budget:.0f} s; log {log_path}:\n"
                           f"{_tail(log_path)}") from exc
    finally:
        samples = sampler.stop() if sampler else []
        watched = watcher.stop() if watcher else None
    if proc.returncode != 0 or not (out_dir / "result.json").exists():
        raise LoadRunError(f"load process exited {proc.returncode}; log {log_path}:\n{_tail(log_path)}")
    result = json.loads((out_dir / "result.json").read_text())
    outcome = LoadOutcome(out_dir, result, samples, sampler_errors=list(sampler.errors) if sampler else [],
                          frames={"route": frames, "watch": watched} if watcher else None)
    if sampler is not None:
        for sample in samples:  # time since the load started, not since the sampler did
            sample["t_s"] = round(sample["wall"] - result["started"], 3)
        warm = spec.duration_s * 0.2 if warmup_s is None else warmup_s
        window_end = result["ended"] - result["started"]
        during = [s for s in samples if 0 <= s["t_s"] <= window_end]  # the load's window only
        outcome.fit = {**memory_fit(during, warm), "process": selector.label,
                       "interval_s": sample_interval_s, "missing": sampler.missing}
        write_csv(samples, out_dir / "resources.csv")
        if samples:
            plots.memory_plot(samples, outcome.fit, out_dir / "memory.svg", title=f"({selector.label})")
        (out_dir / "resources.json").write_text(json.dumps({"fit": outcome.fit, "errors": outcome.sampler_errors},
                                                           indent=1))
    return outcome


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
