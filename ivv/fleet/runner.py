"""`ivv gate` over a fleet: the suites run on every device at once, one pytest process per device (at
most `--max-parallel` at a time), each writing its own bundle into `<run>/sources/`; then the bundles are
merged into one fleet bundle (ivv.evidence.merge), the same path bundles of several runner hosts take
with `ivv merge`. A device that cannot be reached, fails its pre-run health check or whose run dies is
NOT VERIFIED in the merged report with the reason; it never holds the others back.

Each process logs to `<run>/logs/<device>.log` (its lines would interleave on one terminal) and gets its
own pytest temporary folder. A device whose run left no bundle at all (pytest could not start) gets a
stand-in bundle with a gap per criterion naming the log, so the fleet decision still covers it.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ivv.errors import IvvError
from ivv.evidence.bundle import MANIFEST, VERDICTS, Bundle

GRACE_S = 120.0


@dataclass
class DeviceRun:
    """One device's pytest process within a fleet run."""

    target: str
    run_id: str
    log: Path
    returncode: int | None = None
    seconds: float = 0.0
    error: str | None = None
    proc: subprocess.Popen | None = field(default=None, repr=False)


class FleetRun:
    """Start, bound and collect the per-device processes of one fleet run."""

    def __init__(self, args, targets: list[str], run_id: str, typed: str, gates):
        from ivv.commands import gate as gate_cmd

        self.gate_cmd = gate_cmd
        self.args, self.targets, self.run_id, self.typed, self.gates = args, targets, run_id, typed, gates
        self.out = Path(args.reports) / run_id
        self.sources, self.logs = self.out / "sources", self.out / "logs"
        self.max_parallel = max(1, int(getattr(args, "max_parallel", None) or len(targets)))
        self.runs = [DeviceRun(t, f"{run_id}.{t}", self.logs / f"{t}.log") for t in targets]
        self._stopping = threading.Event()

    def _command(self, device: DeviceRun, temp: Path) -> tuple[list[str], list[str]]:
        args = copy.copy(self.args)
        args.target, args.reports = [device.target], str(self.sources)
        base, user = self.gate_cmd.pytest_commands(args, device.run_id, self.typed)
        base += ["--ivv-fleet-run", self.run_id, "-p", "no:cacheprovider", "--basetemp", str(temp / device.target)]
        return base, user

    def _run_one(self, device: DeviceRun, temp: Path) -> DeviceRun:
        if self._stopping.is_set():
            device.error = "the fleet run was interrupted before this device started"
            return device
        started = time.monotonic()
        try:
            base, user = self._command(device, temp)
            compare = self.gate_cmd.collect(base, user, temp / f"collect-{device.target}") if user else []
            with open(device.log, "w", encoding="utf-8") as log:
                device.proc = subprocess.Popen([sys.executable, "-m", "pytest", *base, *compare, *user],
                                               stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
                device.returncode = device.proc.wait()
        except IvvError as exc:
            device.error = str(exc)
        device.seconds = time.monotonic() - started
        self._report(device)
        return device

    def _report(self, device: DeviceRun) -> None:
        verdicts = self.sources / device.run_id / VERDICTS
        if verdicts.exists():
            import json

            decided = json.loads(verdicts.read_text(encoding="utf-8"))["decision"]
            what = f"{decided} after {device.seconds:.0f} s"
        else:
            what = f"no verdicts ({device.error or f'pytest exit status {device.returncode}'})"
        print(f"ivv: {device.target}: {what}; log {device.log}", flush=True)

    def run(self) -> Path:
        """Run every device (bounded), then merge; returns the merged bundle."""
        self.logs.mkdir(parents=True, exist_ok=True)
        self.sources.mkdir(parents=True, exist_ok=True)
        print(f"ivv: fleet of {len(self.targets)} devices ({', '.join(self.targets)}), at most "
              f"{self.max_parallel} at once; bundles in {self.sources}", flush=True)
        started = time.monotonic()
        temp = Path(tempfile.mkdtemp(prefix=f"ivv-fleet-{self.run_id}-"))
        try:
            with ThreadPoolExecutor(max_workers=self.max_parallel) as pool:
                futures = [pool.submit(self._run_one, device, temp) for device in self.runs]
                try:
                    for future in futures:
                        future.result()
                except KeyboardInterrupt:
                    self._interrupt()
                    raise
        finally:
            shutil.rmtree(temp, ignore_errors=True)
        for device in self.runs:
            if not (self.sources / device.run_id / MANIFEST).exists():
                self._stand_in(device)
        return self._merge(time.monotonic() - started)

    def _interrupt(self) -> None:
        """Ctrl-C: every device run got the SIGINT too; give them the grace to write their bundles."""
        self._stopping.set()
        print("ivv: interrupted; letting each device's run write its bundle (Ctrl-C again to stop at once)",
              file=sys.stderr)
        deadline = time.monotonic() + GRACE_S
        for device in self.runs:
            if device.proc is not None and device.proc.poll() is None:
                try:
                    device.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except (subprocess.TimeoutExpired, KeyboardInterrupt):
                    device.proc.kill()

    def _stand_in(self, device: DeviceRun) -> None:
        """A bundle for a device whose run wrote none: a gap for every criterion, naming the log."""
        why = device.error or f"pytest exit status {device.returncode} before it opened a bundle"
        bundle = Bundle.create(self.sources, device.run_id, gates=self.gates, command_line=self.typed)
        bundle.set_manifest("targets", {device.target: {"name": device.target, "facts_error": why}})
        recorder = bundle.recorder(target_name=device.target)
        for criterion in self.gates.criteria:
            recorder.gap(criterion.id, f"the harness could not run on {device.target} ({why}; see {device.log})",
                         details={"harness_error": why})
        bundle.finish()

    def _merge(self, wall_s: float) -> Path:
        from ivv.evidence.merge import merge
        from ivv.fleet import convergence

        sources = [self.sources / d.run_id for d in self.runs]
        info = {"run": self.run_id, "max_parallel": self.max_parallel, "wall_s": round(wall_s, 1),
                "devices_s": {d.target: round(d.seconds, 1) for d in self.runs},
                "logs": {d.target: os.path.relpath(d.log, self.out) for d in self.runs}}
        return merge(sources, self.out, command_line=self.typed, fleet_info=info,
                     fleet_records=convergence.record)
