"""Auth matrix: every method x {no token, expired, forged, alg none, not yet valid, each role, API keys,
revoked API key}; the contract's role per method says who must be refused."""

import pytest

from ivv.contract.authmatrix import auth_failures, auth_grid, auth_matrix, credential_kinds
from ivv.contract.matrix import record_matrix, transcript

CRITERION = "security.auth_enforced"
pytestmark = pytest.mark.usefixtures("rpc_evidence_target")  # evidence names the stack's target


@pytest.mark.criterion(CRITERION)
def test_auth_matrix(contract_probe, evidence):
    rows = auth_matrix(contract_probe)
    kinds = credential_kinds(contract_probe.credentials)
    failed = record_matrix(evidence, CRITERION, "auth and roles matrix", rows,
                           auth_grid(rows, contract_probe.contract, kinds), "auth-exchanges.txt", transcript(rows))
    assert not failed, "auth matrix failures:\n" + "\n".join(auth_failures(rows))
