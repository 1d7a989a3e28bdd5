"""Helpers of the resilience self-tests on the session's virtual device.

One test profile (the reference profile with one short declared trigger, failing health in 8 s, the
same window written to the device's watchdog settings) and two test gates: `PASS_GATE` cuts at the one
boundary `phase:switch` and runs one trial of everything (the clean stack must PASS it), `FAIL_GATE`
has tight bounds so the fault knobs show their FAIL quickly. The clean run is one `ivv gate --suites
resilience` attached to the parent's virtual device (`attach_inventory`: kind qemu with `attach`, so the
subprocess can cut power, pull the link and load snapshots); the fault trials then run in this process
through `ivv.resilience.campaign`, starting from the snapshots the clean run made (same profile,
archives and knobs, so the same snapshot keys), and are recorded and judged as a gate run would.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from ivv.config import profile as profile_lib
from ivv.config.gates import GateSet, load_gate
from ivv.evidence.journal import Journal, Recorder
from ivv.evidence.verdicts import derive
from ivv.resilience.record import record_claim, record_trial
from tests.opsrun import DEFAULT_PROFILE, ROOT, profile_copy

GATE = ROOT / "deployment" / "gates" / "resilience.yaml"
WATCHDOG_ENV = "/etc/default/camera-service-watchdog"
TRIGGER_WINDOW_S = 8
COMMON = {"recording_lead_s": 3, "report_s": 20,
          "power_cut": {"boundaries": ["phase:switch"], "random_cuts": 0},
          "crash": {"trials": 1}, "camera_loss": {"trials": 1}, "disk_full": {"trials": 1, "leave_mb": 1}}
PASS_SETTINGS = {**COMMON, "link_loss": {"trials": 1, "down_s": 10, "after_s": 2, "grace_s": 60, "ready_s": 180},
                 "auto_rollback": {"trials": 1, "grace_s": "<= 150 s"}}
FAIL_SETTINGS = {**COMMON, "converge_after_failure": False,
                 "link_loss": {"trials": 1, "down_s": 5, "after_s": 2, "grace_s": 5, "ready_s": 120},
                 "auto_rollback": {"trials": 1, "grace_s": "<= 20 s"}}
FAIL_THRESHOLDS = {"res.link_loss_upgrade": {"op": "<=", "value": 80, "unit": "s"},   # the knob: +180 s stop
                   "res.crash_recovery": {"op": "<=", "value": 20, "unit": "s"}}


def gate(tmp_path: Path, name: str, settings: dict, thresholds: dict | None = None) -> Path:
    data = yaml.safe_load(GATE.read_text())
    data["gate"]["id"] = name
    data["settings"]["resilience"].update(settings)
    for criterion in data["criteria"]:
        if criterion["id"] in (thresholds or {}):
            criterion["threshold"] = thresholds[criterion["id"]]
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_profile(folder: Path) -> Path:
    """The reference profile declaring one short trigger (and the file it is written to, kept stable so
    every process computes the same snapshot keys)."""
    def short(data):
        data["resilience"]["rollback_triggers"] = [
            {"name": "failing_health", "kind": "failing_health", "window_s": TRIGGER_WINDOW_S,
             "description": f"/health/ready answers not_ready for {TRIGGER_WINDOW_S} s"}]
    folder.mkdir(parents=True, exist_ok=True)
    return profile_copy(folder, short, source=DEFAULT_PROFILE)


def short_watchdog(vdevice) -> None:
    """The device's watchdog with the test profile's window, and a probation that outlasts the tests."""
    text = (f"CAMERA_SERVICE_WATCHDOG_FAILING_HEALTH_WINDOW_S={TRIGGER_WINDOW_S}\n"
            "CAMERA_SERVICE_WATCHDOG_PROBATION_READY_S=3600\n")
    vdevice.run(f"printf %s {shlex.quote(text)} | sudo tee {WATCHDOG_ENV} >/dev/null && "
                "(sudo systemctl try-restart camera-service-watchdog || true)", timeout=120, check=True)


def attach_inventory(vdevice, tmp_path: Path) -> Path:
    """An inventory naming the parent's running virtual device (kind qemu, attach: its run folder)."""
    entry = {"name": "vdevice", "kind": "qemu", "environment": vdevice.environment,
             "attach": str(vdevice.machine.run_dir), "tls": dict(vdevice.tls)}
    path = tmp_path / "attached.yaml"
    path.write_text(yaml.safe_dump({"targets": [entry]}))
    return path


def judge(tmp_path: Path, gate_path: Path, trials: list, criteria: tuple[str, ...]) -> tuple[dict, list]:
    """Record `trials` into a journal beside the test and derive the verdicts of `criteria` as a gate run."""
    gates = GateSet([load_gate(gate_path)])
    journal = Journal(tmp_path / "evidence.jsonl")
    try:
        recorder = Recorder(journal, tmp_path, gates=gates, test="resilience self-test", suite="resilience",
                            target_name="vdevice")
        from ivv.resilience.trial import Limits

        for criterion in criteria:
            for trial in trials:
                record_trial(recorder, trial, criterion)
            record_claim(recorder, trials, criterion, Limits(gates))
        records = list(journal.records)
    finally:
        journal.close()
    return derive(records, gates)["criteria"], records


def set_knobs(stack, knobs: dict) -> None:
    stack.set_faults(knobs)


def load_profile(path: Path):
    return profile_lib.load(path)


# -- the shared runs of a session ---------------------------------------------------------------------
ENTRY = "ivv-selftest-entry"      # the device as the other self-tests expect it (not the suite's own name)
CRITERIA = ("res.power_cut_upgrade", "res.power_cut_rollback", "res.link_loss_upgrade", "res.crash_recovery",
            "res.auto_rollback", "res.first_frame", "res.camera_loss", "res.disk_full")
_SHARED: dict = {}


def prepared(vdevice, tmp_path_factory) -> dict:
    """Once per session: the test profile and gates, the device's watchdog window, and the device's state
    saved so every resilience self-test can put it back."""
    if "prepared" not in _SHARED:
        from tests.opsrun import restore_current

        folder = tmp_path_factory.mktemp("resilience")
        restore_current(vdevice)
        short_watchdog(vdevice)
        vdevice.snapshot_save(ENTRY, {"state": "self-test entry"})
        _SHARED["prepared"] = {"folder": folder, "profile": test_profile(folder / "profile"),
                               "pass_gate": gate(folder, "resilience-selftest", PASS_SETTINGS),
                               "fail_gate": gate(folder, "resilience-faults", FAIL_SETTINGS, FAIL_THRESHOLDS)}
    return _SHARED["prepared"]


def leave_as_found(vdevice) -> None:
    """Put the device back as the other self-tests expect it (the entry snapshot), or reset it cleanly."""
    try:
        vdevice.snapshot_load(ENTRY)
    except Exception:  # noqa: BLE001 - a device the trials broke is reset instead, and said so
        from tests.opsrun import restore_current

        print("resilience self-tests: entry snapshot not loadable; fresh overlay and reinstall")
        vdevice.restore()
        restore_current(vdevice)


def clean_run(vdevice, tmp_path_factory):
    """ONE `ivv gate --suites resilience` of the clean stack with the one-trial self-test gate."""
    if "clean" not in _SHARED:
        import time

        from tests.opsrun import finish_gate

        ready = prepared(vdevice, tmp_path_factory)
        tmp = tmp_path_factory.mktemp("resilience-gate")
        inventory = attach_inventory(vdevice, tmp)
        started = time.monotonic()
        proc, bundle = _start(tmp, inventory, ready["pass_gate"], ready["profile"])
        try:
            _SHARED["clean"] = finish_gate(proc, bundle, started, timeout=3600)
        finally:
            leave_as_found(vdevice)
    return _SHARED["clean"]


def _start(tmp: Path, inventory: Path, gate_path: Path, profile: Path):
    import os
    import subprocess
    import sys

    reports = tmp / "reports"
    cmd = [sys.executable, "-m", "ivv.cli", "gate", "--gate", str(gate_path), "--inventory", str(inventory),
           "--target", "vdevice", "--profile", str(profile), "--suites", "resilience", "--reports", str(reports),
           "--run-id", "run", "--", "-p", "no:cacheprovider"]
    log = open(tmp / "gate-output.txt", "w")  # noqa: SIM115 - closed by finish_gate
    proc = subprocess.Popen(cmd, cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT, text=True)
    proc.ivv_log = log
    return proc, reports / "run"


def fault_campaign(vdevice, tmp_path_factory):
    """The in-process campaign the fault trials use: the test profile, the fault gate, the same
    snapshots as the clean run (made here when this runs first)."""
    if "campaign" not in _SHARED:
        from ivv.resilience.campaign import Campaign
        from ivv.stack.device import DeviceStack

        ready = prepared(vdevice, tmp_path_factory)
        stack = DeviceStack(vdevice, load_profile(ready["profile"]), vdevice.environment)
        campaign = Campaign(stack, GateSet([load_gate(ready["fail_gate"])]))
        campaign.checkpoints.ensure("N")
        campaign.checkpoints.ensure("N+1")
        _SHARED["campaign"] = campaign
    return _SHARED["campaign"]


def fault_trials(name: str, vdevice, tmp_path_factory, knobs: dict, run) -> list:
    """The trials of one fault run (cached by name): after each restore the knobs are set, then `run`."""
    if name not in _SHARED:
        campaign = fault_campaign(vdevice, tmp_path_factory)
        stack = campaign.subject.stack

        def with_knobs(_state):
            stack.set_faults(knobs)
            stack.ensure_ready(300)
        campaign.checkpoints.on_restore = with_knobs
        try:
            _SHARED[name] = run(campaign)
        finally:
            campaign.checkpoints.on_restore = None
            leave_as_found(vdevice)
    return _SHARED[name]


def verdicts_of(tmp_path, trials: list, *criteria: str) -> tuple[dict, list]:
    return judge(tmp_path, prepared_gate(), trials, criteria)


def prepared_gate() -> Path:
    return _SHARED["prepared"]["fail_gate"]


def recovery_faults(vdevice, tmp_path_factory) -> dict:
    """One state with three knobs, three trials in a row: the camera removed (health_lies: the stack says
    ready anyway), the disk filled (delete_when_full: finished recordings deleted to make room), the
    service killed (no_restart: it stays down). Each test reads its own trial."""
    from ivv.resilience import recovery

    def run(campaign):
        campaign.checkpoints.restore("N")
        subject, limits = campaign.subject, campaign.limits
        return {"camera": recovery.camera_loss_trial(subject, limits, 1, "res.camera_loss"),
                "disk": recovery.disk_full_trial(subject, limits, 1, "res.disk_full"),
                "crash": recovery.crash_trial(subject, limits, "service", 1, "res.crash_recovery")}
    return fault_trials("recovery", vdevice, tmp_path_factory,
                        {"health_lies": 1, "delete_when_full": 1, "no_restart": 1}, run)


def failing(trial, criterion: str) -> list:
    return [f for f in trial.facts if f.criterion == criterion and not f.passed]
