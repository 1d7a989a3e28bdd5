"""Power cut at every phase boundary and at random points of an upgrade and of a rollback."""

import pytest

from ivv.resilience.record import record_trials


@pytest.mark.criterion("res.power_cut_upgrade", "res.first_frame")
def test_power_cut_during_upgrade(evidence, campaign, step, destructive):
    trials = step(campaign.power_cuts, "upgrade", "res.power_cut_upgrade")
    record_trials(evidence, trials, "res.power_cut_upgrade", campaign.limits, headline="power cut to ready")


@pytest.mark.criterion("res.power_cut_rollback", "res.first_frame")
def test_power_cut_during_rollback(evidence, campaign, step, destructive):
    trials = step(campaign.power_cuts, "rollback", "res.power_cut_rollback")
    record_trials(evidence, trials, "res.power_cut_rollback", campaign.limits, headline="power cut to ready")
