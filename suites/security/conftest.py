"""Security suite fixtures: one SecurityContext per target (endpoint, credentials, limits, binds)."""

from __future__ import annotations

import pytest

from ivv.config import profile as profile_lib
from ivv.security import context as context_lib


def _profile(request):
    try:
        return request.getfixturevalue("profile")
    except pytest.FixtureLookupError:
        return profile_lib.load(request.config.getoption("ivv_profile", None))


def _stack(request, profile):
    """The started stack when ivv deployed it (it knows the credentials it minted), else None."""
    if profile.endpoint_only:
        return None
    stack = request.getfixturevalue("deployed_stack")
    return stack if callable(getattr(stack, "credentials", None)) else None


@pytest.fixture(scope="session")
def security(request, target):
    ctx = context_lib.build(_profile(request), target, _stack(request, _profile(request)))
    yield ctx
    ctx.close()
