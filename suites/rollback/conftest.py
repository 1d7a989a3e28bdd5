"""Rollback suite: version N installed with data written through the API, then N+1 <-> N repeatedly."""

import pytest

from ivv.ops.apidata import write_data_via_api
from ivv.rpc.client import RpcError, RpcErrorResponse


@pytest.fixture(scope="module")
def baseline(ops, deployed_stack, profile):
    """N installed and ready, data written through the API where the stack takes the camera calls (and
    marker files in every data folder in any case), and the facts rollback must restore; the current
    release is installed again afterwards so later suites test what they expect."""
    def write_data():
        try:
            with deployed_stack.client("operator", timeout=30) as client:
                written = write_data_via_api(client, profile.camera.get("device", "/dev/video0"))
        except (RpcError, RpcErrorResponse, OSError) as exc:   # no camera API: the marker files are the data
            written = [{"not written through the API": f"{type(exc).__name__}: {exc}"}]
        return written + [{"marker": path} for path in ops.seed_data_markers()]

    yield ops.rollback_baseline(write_data)
    ops.upgrade(ops.current_version)
