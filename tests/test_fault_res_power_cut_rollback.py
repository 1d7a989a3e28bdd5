"""res.power_cut_rollback FAILs when the rollback rewrites the live release in place (knob
non_atomic_upgrade): cut between its code and its config, the device boots on a mix of the releases."""

import pytest

from tests.resilience_support import failing, fault_trials, verdicts_of

pytestmark = [pytest.mark.vdevice, pytest.mark.extended, pytest.mark.timeout(1800)]


def test_fault_res_power_cut_rollback_mixed_tree(vdevice, tmp_path_factory, tmp_path):
    trials = fault_trials("rollback-cut", vdevice, tmp_path_factory, {"non_atomic_upgrade": 1},
                          lambda campaign: campaign.power_cuts("rollback", "res.power_cut_rollback"))
    verdicts, _ = verdicts_of(tmp_path, trials, "res.power_cut_rollback")
    assert verdicts["res.power_cut_rollback"]["verdict"] == "FAIL"
    bad = {f.name: f for f in failing(trials[0], "res.power_cut_rollback")}
    tree = bad["the install tree is exactly one release (1.0.0 or 1.1.0)"]
    assert tree.details["holds"]["VERSION"] == "1.0.0" and tree.details["holds"]["config/release.yaml"] == "1.1.0"
