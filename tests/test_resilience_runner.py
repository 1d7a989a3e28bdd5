"""The detached runner on this machine (no systemd here, so it starts with setsid and stops with SIGSTOP):
boundaries from commands and phase markers, and a pause that really stops the operation."""

import json
import subprocess
import time
from pathlib import Path

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


# -- the phase hold: the reference stack's own `phase` (scripts/lib.sh) against the runner ----------------
LIB = Path(__file__).resolve().parents[1] / "deployment/stacks/camera-service/scripts/lib.sh"


def phased(hold: Path, after: Path) -> str:
    """A script that prints its switch marker and at once does the next step (writes `after`)."""
    return f"CAMERA_SERVICE_PHASE_HOLD={hold} bash -c '. {LIB}; phase switch; touch {after}'"


def test_a_held_phase_is_cut_exactly_at_its_marker(device, tmp_path):
    hold, after = tmp_path / "hold", tmp_path / "next-step"
    run = DetachedRun(device, "held", [phased(hold, after)], marker=r"phase: (\S+)",
                      pause={"boundary": "phase:switch"}, hold=str(hold))
    run.start()
    state = run.wait_settled(20)
    assert state.state == "paused" and state.held is True, state.raw
    time.sleep(1.0)
    assert not after.exists(), "the step after the marker ran before the cut"
    run.stop()
    assert not (hold / "enabled").exists() and not (hold / "waiting").exists()


def test_a_held_phase_goes_on_when_it_is_not_the_cut_point(device, tmp_path):
    hold, after = tmp_path / "hold", tmp_path / "next-step"
    run = DetachedRun(device, "released", [phased(hold, after)], marker=r"phase: (\S+)", hold=str(hold))
    run.start()
    finished(run)
    assert run.state().status == 0 and after.exists()
    assert not (hold / "enabled").exists() and not (hold / "waiting").exists()


def test_without_a_hold_a_cut_is_not_called_held(device, tmp_path):
    run = DetachedRun(device, "unheld", [phased(tmp_path / "hold", tmp_path / "next-step")], marker=r"phase: (\S+)",
                      pause={"boundary": "phase:switch"})
    run.start()
    state = run.wait_settled(20)
    assert state.state == "paused" and state.held is False, state.raw
    run.stop()


@pytest.mark.parametrize("holder", [None, "999999999"])
def test_a_script_waits_only_for_a_live_holder(tmp_path, holder):
    hold, after = tmp_path / "hold", tmp_path / "next-step"
    hold.mkdir()
    if holder is not None:          # a hold left by a runner that is gone
        (hold / "enabled").write_text(holder)
    started = time.monotonic()
    subprocess.run(phased(hold, after), shell=True, check=True, timeout=20)
    assert after.exists() and time.monotonic() - started < 5
    assert not (hold / "waiting").exists()
