"""Contract suite: the stack's JSON-RPC API checked against its OpenRPC contract.

Thin on purpose: the checks live in ivv.contract, the endpoint, credentials, probe and `contract.*`
gate settings (`contract_setting`) come from fixtures/rpc.py, budgets and thresholds from the gate.
"""

import pytest


@pytest.fixture(autouse=True)
def _evidence_target(rpc_evidence_target):
    """Evidence names the target the stack runs on (the suite reaches it through rpc_stack)."""
