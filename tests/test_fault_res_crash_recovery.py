"""res.crash_recovery FAILs when the unit has no restart policy (knob no_restart): the killed service
stays down."""

import pytest

from tests.resilience_support import failing, recovery_faults, verdicts_of

pytestmark = [pytest.mark.vdevice, pytest.mark.extended, pytest.mark.timeout(1800)]


def test_fault_res_crash_recovery_stays_down(vdevice, tmp_path_factory, tmp_path):
    trial = recovery_faults(vdevice, tmp_path_factory)["crash"]
    verdicts, _ = verdicts_of(tmp_path, [trial], "res.crash_recovery")
    assert verdicts["res.crash_recovery"]["verdict"] == "FAIL"
    bad = {f.name: f for f in failing(trial, "res.crash_recovery")}
    assert "its supervisor brings service back to ready" in bad
    assert trial.timings["restarts"] == 0
