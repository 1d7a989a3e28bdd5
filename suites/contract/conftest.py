"""Contract suite: the stack's JSON-RPC API checked against its OpenRPC contract.

Thin on purpose: the checks live in ivv.contract, the endpoint, credentials
and probe come from fixtures/rpc.py, budgets and thresholds from the gate (`contract.*` settings).
"""

import pytest


@pytest.fixture(scope="session")
def contract_setting(ivv_gates):
    """`contract_setting("fuzz_examples", 50)`: a `contract.*` gate setting."""
    return lambda key, default: ivv_gates.setting(f"contract.{key}", default)


@pytest.fixture(autouse=True)
def _evidence_target(request, rpc_stack):
    """Evidence names the target the stack runs on (the suite reaches it through rpc_stack)."""
    request.node.ivv_target_name = rpc_stack.target_name
