"""Endpoint-only runs (`-p ivv.pytestplugin.endpoint`, added by `ivv gate` for a profile without
`deployment`): a gap "stack not deployed by ivv" for every criterion decided by a suite that installs,
upgrades or rolls back, recorded at session start, so those criteria are NOT VERIFIED, never PASS."""

from __future__ import annotations

from ivv.errors import ConfigError

NOT_DEPLOYED = "stack not deployed by ivv"
INSTALL_SUITES = ("deployment", "rollback", "documentation")  # they install, upgrade or roll back


def record_not_deployed(gates, bundle, profile_name: str) -> list[str]:
    """A gap for every criterion decided by an install suite; returns their ids."""
    ids = []
    for criterion in gates.criteria:
        if criterion.suite in INSTALL_SUITES:
            bundle.recorder(suite=criterion.suite).gap(
                criterion.id, NOT_DEPLOYED, details={"profile": profile_name, "mode": "endpoint-only"})
            ids.append(criterion.id)
    return ids


def pytest_sessionstart(session) -> None:
    from ivv.config import profile as profile_lib
    from ivv.evidence import bundle as bundle_lib
    from ivv.pytestplugin.plugin import STATE

    config = session.config
    state = config.stash.get(STATE, None)
    path = config.getoption("ivv_profile", None)
    if state is None or not state.gates or not path or hasattr(config, "workerinput"):
        return
    try:
        profile = profile_lib.load(path)
    except ConfigError as exc:
        import pytest

        pytest.exit(f"ivv: {exc}", returncode=2)
    if not profile.endpoint_only:
        return
    bundle = state.ensure_bundle()
    bundle.set_manifest("stack", {"name": profile.name, "version": "not deployed by ivv",
                                  "mode": "endpoint-only"})
    record_not_deployed(state.gates, bundle, profile.name)
    bundle_lib.set_current(bundle)
