"""pytest side of fleets: the pre-run health check of each device, and the suites a device must not run.

- With `--ivv-preflight` (set by `ivv gate`), the first test of each device first brings the device up
  (boot, lease) and checks it (ivv.fleet.preflight); the result goes into the manifest (`preflight`). A
  device that fails is left out: each of its tests is skipped with the reason, before any fixture runs,
  so its criteria are NOT VERIFIED there and the other devices of the run go on.
- A device the inventory marks `destructive: false` never runs the suites that reinstall, roll back,
  cut power or network (ivv.fleet.plan.DESTRUCTIVE_SUITES): their tests are skipped with that reason.
- `--ivv-fleet-run ID` names the fleet run a per-device run belongs to (recorded in the manifest).
"""

from __future__ import annotations

import pytest

from ivv.errors import IvvError
from ivv.fleet import plan, preflight
from ivv.pytestplugin.selection import criteria_of, target_param
from ivv.vdevice.progress import announce

RESULTS = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ivv")
    group.addoption("--ivv-preflight", action="store_true", default=False,
                    help="check each device before its first test (reachable, disk, clock, camera, lease); "
                         "a device that fails is left out, its criteria NOT VERIFIED")
    group.addoption("--ivv-fleet-run", default=None, metavar="ID",
                    help="the fleet run this per-device run belongs to (set by `ivv gate` over a fleet)")


def pytest_sessionstart(session: pytest.Session) -> None:
    fleet_run = session.config.getoption("ivv_fleet_run", None)
    if fleet_run:
        from ivv.evidence import bundle as bundle_lib

        current = bundle_lib.current()
        if current is not None:
            current.set_manifest("fleet_run", fleet_run)


def _suites(item: pytest.Item) -> set[str]:
    from ivv.pytestplugin.plugin import STATE
    from ivv.pytestplugin.selection import suite_of

    state = item.config.stash.get(STATE, None)
    gates = state.gates if state is not None else None
    found = {gates.get(cid).suite for cid in criteria_of(item) if gates and gates.get(cid)}
    own = suite_of(item.nodeid)
    return found | ({own} if own else set())


def _preflight(config: pytest.Config, pool, name: str) -> preflight.Preflight:
    from ivv.config import profile as profile_lib
    from ivv.evidence import bundle as bundle_lib
    from ivv.pytestplugin.plugin import STATE

    results = config.stash.setdefault(RESULTS, {})
    if name in results:
        return results[name]
    try:
        target = pool.get(name)
    except IvvError as exc:
        result = preflight.unreachable(name, exc)
    else:
        state = config.stash.get(STATE, None)
        profile = profile_lib.load(config.getoption("ivv_profile", None))
        result = preflight.check(target, profile, state.gates if state else None, pool.leases.get(name))
    results[name] = result
    current = bundle_lib.current()
    if current is not None:
        current.update_manifest("preflight", {name: result.as_dict()})
    verdict = "ok" if result.ok else f"LEFT OUT ({result.reason})"
    announce(f"ivv: {name}: pre-run health check {verdict}")
    return result


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    from ivv.fixtures.targets import POOL

    name = target_param(item)
    pool = item.config.stash.get(POOL, None)
    if name is None or pool is None:
        return
    destructive = pool.inventory.destructive(name) if name in pool.inventory.entries else True
    for suite in sorted(_suites(item)):
        why = plan.left_out_of_suite(suite, destructive, name)
        if why:
            pytest.skip(why)
    if item.config.getoption("ivv_preflight", False):
        result = _preflight(item.config, pool, name)
        if not result.ok:
            pytest.skip(f"left out: {result.reason}")
