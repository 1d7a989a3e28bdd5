"""Deployment suite: one timed fresh install shared by the checks that inspect its result.

Everything about the stack (versions, environments, units, users, paths, ports) comes from the profile
through `ivv.ops.deployment.StackOps` (the `ops` fixture); nothing here names a particular stack.
"""

import pytest


@pytest.fixture(scope="module")
def fresh_install(ops):
    """Uninstall whatever is there (data kept), then install the current release in the target's
    environment (the one that stays deployed), timed from the first command to ready."""
    ops.ensure_absent()
    return ops.install(ops.current_version, ops.environments[-1])
