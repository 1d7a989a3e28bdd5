"""Rollback suite: version N installed with data written through the API, then N+1 <-> N repeatedly."""

import pytest

from ivv.ops.deployment import StackOps, write_data_via_api
from ivv.rpc.client import RpcClient
from ivv.stack.local import DeviceStack


@pytest.fixture(scope="module")
def ops(target, profile, ivv_gates):
    return StackOps(target, profile, ivv_gates)


@pytest.fixture(scope="module")
def baseline(ops, target, profile):
    """N installed and ready, data written through the API, and the facts rollback must restore; the
    current release is installed again afterwards so later suites test what they expect."""
    def write_data():
        device = DeviceStack(target, profile, ops.environments[-1])
        with RpcClient(device.rpc_url, verify_tls=False, timeout=30) as client:
            login = client.authenticate(device.credentials(api_keys=False).token("operator"))
            if not login.ok:
                raise RuntimeError(f"operator login refused: {login.error}")
            return write_data_via_api(client, profile.camera.get("device", "/dev/video0"))

    yield ops.rollback_baseline(write_data)
    ops.upgrade(ops.current_version)
