"""res.link_loss_upgrade FAILs when the service ignores SIGTERM (knob ignore_sigterm): the upgrade's
restart waits for the unit's 180 s stop timeout, so the upgrade does not end within the bound."""

import pytest

from tests.resilience_support import failing, fault_trials, verdicts_of

pytestmark = [pytest.mark.vdevice, pytest.mark.extended, pytest.mark.timeout(1800)]


def test_fault_res_link_loss_upgrade_hangs(vdevice, tmp_path_factory, tmp_path):
    trials = fault_trials("link-loss", vdevice, tmp_path_factory, {"ignore_sigterm": 1},
                          lambda campaign: campaign.link_losses("res.link_loss_upgrade"))
    verdicts, _ = verdicts_of(tmp_path, trials, "res.link_loss_upgrade")
    assert verdicts["res.link_loss_upgrade"]["verdict"] == "FAIL"
    bad = {f.name: f for f in failing(trials[0], "res.link_loss_upgrade")}
    hung = bad["the upgrade ended by itself (it does not hang)"]
    assert hung.observed["state"] in ("running", "unreachable")
    assert "ignore_sigterm" in trials[0].journal or trials[0].state_after
