"""kill -9 of the main process and of the media component: each comes back by itself."""

import pytest

from ivv.resilience.record import record_trials


@pytest.mark.criterion("res.crash_recovery", "res.first_frame")
def test_crashed_components_come_back(evidence, campaign, step):
    trials = step(campaign.crashes, "res.crash_recovery")
    record_trials(evidence, trials, "res.crash_recovery", campaign.limits, headline="kill -9")
