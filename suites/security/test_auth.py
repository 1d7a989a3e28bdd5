"""Auth matrix: every operation x {no credentials, expired, forged, alg none, ...; over JSON-RPC also not
yet valid, each role, API keys, a revoked key}; the contract says who must be refused, and every refusal
row has its positive control."""

import pytest

CRITERION = "security.auth_enforced"
pytestmark = pytest.mark.usefixtures("rpc_evidence_target")  # evidence names the stack's target


@pytest.mark.criterion(CRITERION)
@pytest.mark.api_check("auth_matrix")
def test_auth_matrix(api_checks, evidence):
    failures = api_checks.auth_matrix().record(evidence, CRITERION)
    assert not failures, "auth matrix failures:\n" + "\n".join(failures)
