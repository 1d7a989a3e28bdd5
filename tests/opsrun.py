"""Run the operations suites through `ivv gate` in a subprocess against the session's booted virtual device.

The subprocess reaches the device as kind `qemu` attached to the parent's run folder (`attach:`): the
device's SSH port, key and forwarded ports, without a new overlay. Helpers also write test gates (smaller SLOs, fewer repeats) and profile
copies (a changed runbook, an upgrade step that deletes data) so each fault is injected for real.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CDR_GATE = ROOT / "deployment" / "gates" / "cdr-deployment.yaml"
DEFAULT_PROFILE = ROOT / "deployment" / "stacks" / "camera-service" / "profile.yaml"


def attach(vdevice, tmp_path: Path, profile_path: Path = DEFAULT_PROFILE,
           tls: dict | None = None) -> tuple[Path, dict[str, str]]:
    """(inventory file, environment) that let a subprocess use `vdevice` as target `vdevice`: kind qemu
    attached to the parent's run folder (its SSH port, key and forwards); `tls` replaces the device's own
    inventory `tls` settings (how clients verify its certificate)."""
    entry = {"name": "vdevice", "kind": "qemu", "environment": vdevice.environment,
             "attach": str(vdevice.machine.run_dir)}
    tls = dict(vdevice.tls) if tls is None else tls
    if tls:
        entry["tls"] = tls
    inventory = tmp_path / "attached.yaml"
    inventory.write_text(yaml.safe_dump({"targets": [entry]}))
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "tests"), os.environ.get("PYTHONPATH")]))}
    return inventory, env


def gate_file(tmp_path: Path, settings: dict | None = None, thresholds: dict | None = None,
              name: str = "ops-test") -> Path:
    """A copy of the CDR deployment gate with some settings and thresholds changed."""
    data = yaml.safe_load(CDR_GATE.read_text())
    data["gate"]["id"] = name
    for dotted, value in (settings or {}).items():
        node = data.setdefault("settings", {})
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    for criterion in data["criteria"]:
        if criterion["id"] in (thresholds or {}):
            criterion["threshold"] = thresholds[criterion["id"]]
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def profile_copy(tmp_path: Path, change=None, runbook_text: str | None = None,
                 source: Path = DEFAULT_PROFILE) -> Path:
    """A copy of the profile in tmp_path (relative paths made absolute), changed by `change(data)`."""
    data = yaml.safe_load(source.read_text())
    base = source.parent
    for key in ("contract", "runbook"):
        if key in data:
            data[key] = str((base / data[key]).resolve())
    deployment = data.get("deployment") or {}
    if "archive" in deployment:
        deployment["archive"] = str((base / deployment["archive"]).resolve())
    if runbook_text is not None:
        runbook = tmp_path / "RUNBOOK.md"
        runbook.write_text(runbook_text)
        data["runbook"] = str(runbook)
    if change is not None:
        change(data)
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@dataclass
class GateRun:
    returncode: int
    bundle: Path
    output: str
    seconds: float
    verdicts: dict = field(default_factory=dict)

    def verdict(self, criterion: str) -> str:
        return self.verdicts["criteria"][criterion]["verdict"]

    def records(self, criterion: str | None = None) -> list[dict]:
        path = self.bundle / "evidence.jsonl"
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
        return [r for r in rows if criterion is None or r.get("criterion") == criterion]

    def failing(self, criterion: str) -> list[dict]:
        return [r for r in self.records(criterion) if r.get("verdict") == "FAIL"]

    def explain(self) -> str:
        """Short text for assertion messages: criteria verdicts, and the tail of the output."""
        crit = {k: v["verdict"] for k, v in (self.verdicts.get("criteria") or {}).items()}
        return f"exit {self.returncode} in {self.seconds:.0f} s; verdicts {crit}\n{self.output[-3000:]}"


def start_gate(tmp_path: Path, vdevice, suites: str, gate: Path, profile: Path = DEFAULT_PROFILE,
               pytest_args: list[str] | None = None, tls: dict | None = None) -> tuple[subprocess.Popen, Path]:
    inventory, env = attach(vdevice, tmp_path, profile, tls)
    reports = tmp_path / "reports"
    cmd = [sys.executable, "-m", "ivv.cli", "gate", "--gate", str(gate), "--inventory", str(inventory),
           "--target", "vdevice", "--profile", str(profile), "--suites", suites, "--reports", str(reports),
           "--run-id", "run", "--", "-p", "no:cacheprovider", *(pytest_args or [])]
    log = open(tmp_path / "gate-output.txt", "w")  # noqa: SIM115 - closed by finish_gate
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                            text=True)
    proc.ivv_log = log
    return proc, reports / "run"


def finish_gate(proc: subprocess.Popen, bundle: Path, started: float, timeout: float) -> GateRun:
    try:
        proc.wait(timeout=max(1.0, timeout - (time.monotonic() - started)))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    proc.ivv_log.close()
    output = Path(proc.ivv_log.name).read_text(errors="replace")
    verdicts_file = bundle / "verdicts.json"
    verdicts = json.loads(verdicts_file.read_text()) if verdicts_file.exists() else {}
    return GateRun(proc.returncode, bundle, output, time.monotonic() - started, verdicts)


def run_gate(tmp_path: Path, vdevice, suites: str, gate: Path, profile: Path = DEFAULT_PROFILE,
             pytest_args: list[str] | None = None, timeout: float = 600, tls: dict | None = None) -> GateRun:
    """`ivv gate` on the attached device; returns when it ends (killed after `timeout`)."""
    started = time.monotonic()
    proc, bundle = start_gate(tmp_path, vdevice, suites, gate, profile, pytest_args, tls)
    return finish_gate(proc, bundle, started, timeout)


def set_faults(vdevice, profile_path: Path, knobs: dict) -> None:
    """Write the profile's faults file on the device and apply it (restart), as a suite would."""
    from ivv.config import profile as profile_lib
    prof = profile_lib.load(profile_path)
    text = prof.fault_file_text(knobs)
    path = prof.faults["file"]
    vdevice.run(f"printf %s {shlex.quote(text)} | sudo tee {shlex.quote(path)} >/dev/null", timeout=30, check=True)
    if prof.faults.get("apply"):
        _run_explained(vdevice, prof.faults["apply"], prof.units)


def clear_faults(vdevice, profile_path: Path = DEFAULT_PROFILE) -> None:
    from ivv.config import profile as profile_lib
    prof = profile_lib.load(profile_path)
    if prof.faults and prof.faults.get("clear"):
        _run_explained(vdevice, prof.faults["clear"], prof.units)


def _run_explained(vdevice, cmd: str, units: list[str], timeout: float = 120) -> None:
    """Run a restart-type command; when it hangs, say what the profile's units were doing at the time."""
    from ivv.targets.base import CommandTimeout
    try:
        vdevice.run(cmd, timeout=timeout)
    except CommandTimeout as exc:
        names = " ".join(shlex.quote(u) for u in units)
        journal = " ".join(f"-u {shlex.quote(u)}" for u in units)
        state = vdevice.run(f"sudo systemctl list-jobs --no-pager; sudo systemctl status --no-pager -n 0 {names}; "
                            f"sudo journalctl --no-pager -n 150 {journal}", timeout=30)
        raise AssertionError(f"{exc}\n--- device state ---\n{state.stdout[-12000:]}") from exc


def stack_ops(vdevice, profile_path: Path = DEFAULT_PROFILE):
    """StackOps on the parent's device, for setting up and restoring state around a gate run."""
    from ivv.config import profile as profile_lib
    from ivv.ops.deployment import StackOps
    from ivv.stack.device import DeviceStack
    return StackOps(DeviceStack(vdevice, profile_lib.load(profile_path), vdevice.environment))


def restore_current(vdevice) -> None:
    """Leave the device as the other self-tests expect it: the current release, ready, no fault knobs."""
    ops = stack_ops(vdevice)
    clear_faults(vdevice)
    if ops.installed_version() != ops.current_version or not ops.is_ready():
        op = ops.install(ops.current_version, vdevice.environment)
        assert op.succeeded and op.ready, json.dumps(op.as_dict(), indent=1, default=str)[-3000:]


def repack_archive(source: Path, dest: Path, edit) -> None:
    """Copy a release archive with `edit(root: Path)` applied to its unpacked tree, its SHA256SUMS made
    again for the edited files (as the release's builder would: the stack trusts its own checksums, so an
    edit with stale sums would be refused, or taken for the release already placed)."""
    import hashlib
    import shutil
    import tarfile
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(source) as tar:
            tar.extractall(tmp, filter="tar")
        edit(Path(tmp))
        for sums in Path(tmp).glob("*/SHA256SUMS"):
            top = sums.parent
            names = [line.split("  ", 1)[1] for line in sums.read_text().splitlines() if "  " in line]
            sums.write_text("".join(f"{hashlib.sha256((top / n).read_bytes()).hexdigest()}  {n}\n"
                                    for n in names if (top / n).is_file()))
        dest.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(dest, "w:gz") as tar:
            for entry in sorted(Path(tmp).iterdir()):
                tar.add(entry, arcname=entry.name)
    shutil.copystat(source, dest)


OPS_SUITES = "deployment,documentation,health,rollback"
_SHARED: dict = {}


def shared_cdr_run(vdevice, tmp_path_factory) -> GateRun:
    """ONE `ivv gate` of the four operations suites with the shipped CDR gate on the session's device,
    shared by the suite self-tests and the end-to-end test (each reads the facts it checks from it):
    the device time is spent once, the checks stay separate."""
    if "run" not in _SHARED:
        tmp = tmp_path_factory.mktemp("cdr-gate")
        restore_current(vdevice)
        # one rollback round trip instead of the gate's three: `make gate` runs the three
        gate = gate_file(tmp, settings={"rollback.repeats": SELFTEST_REPEATS}, name="cdr-deployment")
        _SHARED["run"] = run_gate(tmp, vdevice, OPS_SUITES, gate, timeout=1800)
        restore_current(vdevice)
    return _SHARED["run"]


SELFTEST_REPEATS = 1
SLOW_ROLLBACK_S = 40     # the fault: rollback.sh sleeps this long before working
SLOW_SLO_S = 35          # the fault run's SLO: below the fault, far above a healthy rollback here


def rollback_fault_run(vdevice, tmp_path_factory) -> tuple[GateRun, str]:
    """ONE rollback-suite run with two real faults: rollback.sh sleeping past a small SLO (knob
    slow_rollback) and an upgrade step deleting a data file. Each criterion's self-test reads its own
    evidence from it (the time from the sleep, the missing file by name). Returns (run, deleted file)."""
    if "rollback-faults" not in _SHARED:
        tmp = tmp_path_factory.mktemp("rollback-faults")
        ops = stack_ops(vdevice)
        ops.rollback_baseline(lambda: [])            # N installed and ready, so the knob file survives
        victim = ops.seed_data_markers()[0]
        set_faults(vdevice, DEFAULT_PROFILE, {"slow_rollback": SLOW_ROLLBACK_S})
        # applying the knob restarts the service: the suite's baseline must find N ready, or it reinstalls
        # (and a reinstall clears the knob file)
        assert ops.wait_ready(90).reached, "the service did not come back after the fault knob was applied"

        def bad_upgrade(data):
            data["deployment"]["upgrade"] = list(data["deployment"]["upgrade"]) + [f"sudo rm -f {victim}"]

        profile = profile_copy(tmp, bad_upgrade)
        gate = gate_file(tmp, settings={"rollback.repeats": 1},
                         thresholds={"ops.rollback_time": {"op": "<=", "value": SLOW_SLO_S, "unit": "s"}})
        try:
            run = run_gate(tmp, vdevice, "rollback", gate, profile=profile, pytest_args=["-k", "time_and_state"],
                           timeout=900)
        finally:
            restore_current(vdevice)
        _SHARED["rollback-faults"] = (run, victim)
    return _SHARED["rollback-faults"]
