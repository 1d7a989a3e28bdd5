"""Rollback suite: version N installed with data written through the API, then N+1 <-> N repeatedly."""

import pytest

from ivv.ops.apidata import write_data_via_api


@pytest.fixture(scope="module")
def baseline(ops, deployed_stack, profile):
    """N installed and ready, data written through the API, and the facts rollback must restore; the
    current release is installed again afterwards so later suites test what they expect."""
    def write_data():
        with deployed_stack.client("operator", timeout=30) as client:
            return write_data_via_api(client, profile.camera.get("device", "/dev/video0"))

    yield ops.rollback_baseline(write_data)
    ops.upgrade(ops.current_version)
