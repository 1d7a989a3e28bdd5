"""The data partition filled: reported honestly, nothing finished lost, recovered."""

import pytest

from ivv.resilience.record import record_trials


@pytest.mark.criterion("res.disk_full", "res.first_frame")
def test_full_disk_is_reported_and_recovered(evidence, campaign, step, destructive):
    trials = step(campaign.disk_fulls, "res.disk_full")
    record_trials(evidence, trials, "res.disk_full", campaign.limits, headline="space back to ready")
