"""Fleet convergence, this device's half: does it report the release the run deployed? The fleet-wide
half (every device the same version, within the gate's bound) is recorded when the devices' bundles are
merged (ivv.fleet.convergence)."""

import pytest

from ivv.evidence.journal import now
from ivv.fleet import convergence


@pytest.mark.criterion(convergence.CRITERION)
def test_reports_the_release_it_runs(evidence, deployed_stack, profile, target):
    version, why = convergence.reported(deployed_stack)
    if version is None:
        evidence.gap(convergence.CRITERION, why)
        return
    expected = (profile.deployment or {}).get("current")
    evidence.check(convergence.CRITERION, f"{target.name} reports the release the run deployed ({expected})",
                   version == expected, expected=expected, observed=version,
                   details={"version": version, "reported_at": now()})
