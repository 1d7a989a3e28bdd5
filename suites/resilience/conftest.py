"""Resilience suite fixtures: one `Campaign` per run on the deployed stack (its subject, checkpoints, seed
and trials), the opt-in for destructive tests, and the device left as the suite found it.

`--ivv-destructive` (or IVV_DESTRUCTIVE=1, or `destructive: true` on the inventory entry) allows power
cuts, a full data partition and camera removal on a real device; without it those criteria are NOT
VERIFIED with that reason. The virtual device is always allowed: every trial starts from a snapshot and
the suite puts back the device's state from before it ran (recorded in the manifest, `resilience`).
"""

import pytest
from ivv.fixtures.stack import env_faults

from ivv.errors import CapabilityMissing
from ivv.resilience.campaign import Campaign


def pytest_addoption(parser):
    parser.addoption("--ivv-destructive", action="store_true", default=False,
                     help="resilience: allow power cuts, a full disk and camera removal on real devices")


@pytest.fixture(scope="session")
def campaign(deployed_stack, ivv_gates, ivv_bundle, profile, pytestconfig):
    try:
        run = Campaign(deployed_stack, ivv_gates, env_faults(profile),
                       opted_in=bool(pytestconfig.getoption("--ivv-destructive", default=False)))
    except CapabilityMissing as exc:
        pytest.skip(str(exc))
    run.begin()
    ivv_bundle.set_manifest("resilience", {"seed": run.seed, "destructive": run.destructive()[1]})
    yield run
    left = run.finish()
    ivv_bundle.set_manifest("resilience", {"seed": run.seed, "destructive": run.destructive()[1],
                                           "states": run.checkpoints.log, "device_left": left,
                                           "trials": len(run.trials)})


@pytest.fixture
def destructive(campaign):
    """Skip (so: NOT VERIFIED, with the reason) where destructive tests are not allowed."""
    allowed, why = campaign.destructive()
    if not allowed:
        pytest.skip(why)
    return why


@pytest.fixture
def step():
    """Run a campaign step; a missing capability (no power or link control) skips with its reason."""
    def run(call, *args):
        try:
            return call(*args)
        except CapabilityMissing as exc:
            pytest.skip(str(exc))
    return run
