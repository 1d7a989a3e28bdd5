"""Health suite: runs against whatever `deployed_stack` gives (virtual device, real device or local)."""

import pytest

from ivv.health.ops import HealthOps


@pytest.fixture(scope="module")
def health_ops(deployed_stack, ivv_gates):
    return HealthOps(deployed_stack, ivv_gates)
