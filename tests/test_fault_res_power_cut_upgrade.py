"""res.power_cut_upgrade FAILs when the upgrade rewrites the live release in place (knob
non_atomic_upgrade): cut at the boundary between its code and its config, the device boots on a tree
that is a mix of 1.0.0 and 1.1.0, and the trial says which files hold which release."""

import pytest

from tests.resilience_support import failing, fault_trials, verdicts_of

pytestmark = [pytest.mark.vdevice, pytest.mark.extended, pytest.mark.timeout(1800)]
KNOBS = {"non_atomic_upgrade": 1, "fragile_recordings": 1}


def upgrade_cut(vdevice, tmp_path_factory):
    return fault_trials("upgrade-cut", vdevice, tmp_path_factory, KNOBS,
                        lambda campaign: campaign.power_cuts("upgrade", "res.power_cut_upgrade"))


def test_fault_res_power_cut_upgrade_mixed_tree(vdevice, tmp_path_factory, tmp_path):
    trials = upgrade_cut(vdevice, tmp_path_factory)
    verdicts, _records = verdicts_of(tmp_path, trials, "res.power_cut_upgrade")
    assert verdicts["res.power_cut_upgrade"]["verdict"] == "FAIL"
    bad = {f.name: f for f in failing(trials[0], "res.power_cut_upgrade")}
    tree = bad["the install tree is exactly one release (1.0.0 or 1.1.0)"]
    assert "a mix of releases" in tree.observed
    holds = tree.details["holds"]
    assert holds["VERSION"] == "1.1.0" and holds["config/release.yaml"] == "1.0.0"
    assert trials[0].spec["cut"]["boundary"] == "phase:switch" and trials[0].journal
