"""Does a transfer deliver the same bytes, and does the service say so only when it does?"""

import json

import pytest

from ivv.evidence.facts import record
from ivv.ops import transfers

CRITERION = "data.transfer_integrity"


@pytest.mark.criterion(CRITERION)
def test_transfers_verified_at_both_ends(evidence, ivv_gates, api_checks, deployed_stack):
    """The gate's `integrity.transfer_trials` transfers (default 5), each file's sha256 read on the target."""
    if not (deployed_stack.profile.data.get("api") or {}).get("transfer"):
        pytest.skip(f"transfer integrity: {deployed_stack.profile.path} names no transfer (api.transfer)")
    trials = int(ivv_gates.setting("integrity.transfer_trials", 5))
    facts, runs = transfers.check(api_checks, deployed_stack, trials)
    evidence.artifact("transfers.json", json.dumps(runs, indent=2, default=str))
    record(evidence, facts, CRITERION)
