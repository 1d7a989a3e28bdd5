"""The stack's declared rollback triggers, provoked on a release on probation."""

import pytest

from ivv.resilience.record import record_trials


@pytest.mark.criterion("res.auto_rollback", "res.first_frame")
def test_declared_rollback_triggers(evidence, campaign, step):
    trials = step(campaign.auto_rollbacks, "res.auto_rollback")
    record_trials(evidence, trials, "res.auto_rollback", campaign.limits)
