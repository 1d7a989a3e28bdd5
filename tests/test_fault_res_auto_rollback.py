"""res.auto_rollback FAILs when the stack declares a trigger and does not act (knob auto_rollback_off):
the readiness check fails for longer than the declared window and the release stays."""

import pytest

from tests.resilience_support import failing, fault_trials, verdicts_of

pytestmark = [pytest.mark.vdevice, pytest.mark.extended, pytest.mark.timeout(1800)]


def test_fault_res_auto_rollback_trigger_ignored(vdevice, tmp_path_factory, tmp_path):
    trials = fault_trials("auto-rollback", vdevice, tmp_path_factory, {"auto_rollback_off": 1},
                          lambda campaign: campaign.auto_rollbacks("res.auto_rollback"))
    verdicts, _ = verdicts_of(tmp_path, trials, "res.auto_rollback")
    assert verdicts["res.auto_rollback"]["verdict"] == "FAIL"
    bad = {f.name: f for f in failing(trials[0], "res.auto_rollback")}
    assert bad["the stack rolled itself back to 1.0.0 (ready)"].observed["version"] == "1.1.0"
    assert "auto_rollback_off" in trials[0].journal
