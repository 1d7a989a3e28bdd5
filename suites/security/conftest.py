"""Security suite fixtures: one SecurityContext per target (endpoint, credentials, limits, binds)."""

from __future__ import annotations

import pytest

from ivv.security import context as context_lib


@pytest.fixture(scope="session")
def security(deployed_stack):
    return context_lib.build(deployed_stack)
