"""The detached runner on this machine (no systemd here, so it starts with setsid and stops with SIGSTOP):
boundaries from commands and phase markers, and a pause that really stops the operation."""

import json
import time

import pytest

from ivv.resilience import runner as runner_mod
from ivv.resilience.plan import boundaries_from_events
from ivv.resilience.runner import DetachedRun, Device
from ivv.targets.local import LocalTarget


@pytest.fixture
def device(tmp_path, monkeypatch):
    monkeypatch.setattr(runner_mod, "DEVICE_ROOT", str(tmp_path / "runs"))
    return Device(LocalTarget(name="local"))


def finished(run: DetachedRun, timeout: float = 20.0):
    waited = run.wait_done(timeout, interval_s=0.1)
    assert waited.reached, waited.last
    return run.events()


def test_boundaries_of_commands_and_phase_markers(device, tmp_path):
    run = DetachedRun(device, "upgrade", ["echo 'x: phase: fetch'; echo 'x: phase: fetch'", "echo 'phase: apply'"],
                      marker=r"phase: (\S+)")
    run.start()
    events = finished(run)
    labels = [b.label for b in boundaries_from_events(events)]
    assert labels == ["phase:fetch", "phase:fetch#2", "command:2", "phase:apply", "end"]
    assert run.state().status == 0
    assert "phase: apply" in run.output()


def test_a_failing_command_ends_the_run(device):
    run = DetachedRun(device, "fails", ["exit 3", "echo never"])
    run.start()
    events = finished(run)
    assert run.state().status == 3
    assert not any(e.get("event") == "command" and e.get("index") == 2 for e in events)


@pytest.mark.parametrize("pause", [{"boundary": "phase:switch"}, {"at_s": 0.5}])
def test_a_paused_run_does_nothing_more(device, tmp_path, pause):
    marker = tmp_path / "after-the-cut-point"
    run = DetachedRun(device, "paused", [f"echo 'phase: switch'; sleep 1.5; touch {marker}"],
                      marker=r"phase: (\S+)", pause=pause)
    run.start()
    state = run.wait_settled(20)
    assert state.state == "paused", state.raw
    time.sleep(2.5)
    assert not marker.exists(), "the operation went on after its cut point"
    assert run.state().state == "paused"
    run.stop()
    time.sleep(0.5)
    assert not marker.exists()
    assert json.loads((tmp_path / "runs" / run.id / "state.json").read_text())["state"] == "paused"


def test_a_boundary_never_reached_ends_done(device):
    run = DetachedRun(device, "short", ["true"], pause={"boundary": "phase:missing"})
    run.start()
    state = run.wait_settled(20)
    assert state.state == "done" and state.status == 0
