"""Security suite fixtures: one SecurityContext per target (endpoint, credentials, limits, binds)."""

from __future__ import annotations

import pytest

from ivv.security import context as context_lib


@pytest.fixture
def security(deployed_stack):
    """Built when each test starts: a suite run earlier in the session (deployment) may have reinstalled
    the stack with a new secret, and a token minted before it would make every probe a stale-credential
    refusal."""
    return context_lib.build(deployed_stack)
