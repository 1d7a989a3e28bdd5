"""The camera unplugged mid-recording: reported honestly, nothing finished lost, recovered."""

import pytest

from ivv.resilience.record import record_trials


@pytest.mark.criterion("res.camera_loss", "res.first_frame")
def test_camera_loss_is_reported_and_recovered(evidence, campaign, step, destructive):
    trials = step(campaign.camera_losses, "res.camera_loss")
    record_trials(evidence, trials, "res.camera_loss", campaign.limits, headline="camera back to ready")
