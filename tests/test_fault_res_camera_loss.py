"""res.camera_loss FAILs when the health endpoints say ready with the camera gone (knob health_lies)."""

import pytest

from tests.resilience_support import failing, recovery_faults, verdicts_of

pytestmark = [pytest.mark.vdevice, pytest.mark.extended, pytest.mark.timeout(1800)]


def test_fault_res_camera_loss_not_reported(vdevice, tmp_path_factory, tmp_path):
    trial = recovery_faults(vdevice, tmp_path_factory)["camera"]
    verdicts, _ = verdicts_of(tmp_path, [trial], "res.camera_loss")
    assert verdicts["res.camera_loss"]["verdict"] == "FAIL"
    bad = {f.name: f for f in failing(trial, "res.camera_loss")}
    assert bad["health endpoint ready reports the camera loss"].observed == "ready"
    # what stays honest stays PASS: the caller's error and the status field do not depend on the knob
    passed = {f.name for f in trial.facts if f.passed}
    assert "the caller gets an error for a frame during the camera loss" in passed
