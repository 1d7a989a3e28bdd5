"""Health suite: runs against whatever `deployed_stack` gives (virtual device, real device or local)."""

import pytest

from ivv.health.probe import HealthOps


@pytest.fixture(scope="module")
def health_ops(target, profile, deployed_stack, ivv_gates):
    return HealthOps(target, profile, deployed_stack, ivv_gates)
