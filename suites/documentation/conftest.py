"""Documentation suite: the stack's runbook, executed on the device as written."""

import pytest

from ivv.ops.deployment import StackOps


@pytest.fixture(scope="module")
def ops(target, profile, ivv_gates):
    return StackOps(target, profile, ivv_gates)
