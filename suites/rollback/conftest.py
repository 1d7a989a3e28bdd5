"""Rollback suite: version N installed with data written through the API, then N+1 <-> N repeatedly."""

import pytest

from ivv.ops.apidata import write_user_data


@pytest.fixture(scope="module")
def baseline(ops, deployed_stack, profile):
    """N installed and ready, data written through the API where the stack takes the camera calls (and
    marker files in every data folder in any case), and the facts rollback must restore; the current
    release is installed again afterwards so later suites test what they expect."""
    device = profile.camera.get("device", "/dev/video0")
    yield ops.rollback_baseline(lambda: write_user_data(deployed_stack, ops, device))
    ops.upgrade(ops.current_version)
