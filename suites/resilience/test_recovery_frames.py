"""The first valid frame after every recovery the other tests made: the claim over all their trials.
Runs last in the suite (file order)."""

import pytest

from ivv.resilience.record import record_claim


@pytest.mark.criterion("res.first_frame")
def test_first_frame_after_every_recovery(evidence, campaign):
    if not campaign.trials:
        pytest.skip("no recovery was made in this run, so no first frame was timed")
    record_claim(evidence, campaign.trials, "res.first_frame", campaign.limits)
