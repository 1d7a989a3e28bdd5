"""The data partition filled: reported honestly, nothing finished lost, recovered."""

import pytest

from ivv.resilience.record import record_claim, record_trial


@pytest.mark.criterion("res.disk_full", "res.first_frame")
def test_full_disk_is_reported_and_recovered(evidence, campaign, step, destructive):
    trials = step(campaign.disk_fulls, "res.disk_full")
    for trial in trials:
        record_trial(evidence, trial, "res.disk_full")
        record_trial(evidence, trial, "res.first_frame")
    record_claim(evidence, trials, "res.disk_full", campaign.limits, headline="space back to ready")
