"""The link lost in the middle of an upgrade: it ends by itself, completed or rolled back, within the bound."""

import pytest

from ivv.resilience.record import record_trials


@pytest.mark.criterion("res.link_loss_upgrade", "res.first_frame")
def test_link_loss_during_upgrade(evidence, campaign, step):
    trials = step(campaign.link_losses, "res.link_loss_upgrade")
    record_trials(evidence, trials, "res.link_loss_upgrade", campaign.limits, headline="upgrade start to its end")
