"""A short health suite for fleet self-tests on local devices: the shipped health suite's schema and
readiness-truth tests (a local device has no camera to take away, so the camera test is left out)."""

import pytest

from ivv.health.ops import HealthOps


@pytest.fixture(scope="module")
def health_ops(deployed_stack, ivv_gates):
    return HealthOps(deployed_stack, ivv_gates)
