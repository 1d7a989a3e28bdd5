"""JSON-RPC 2.0 compliance matrix: malformed, unknown and invalid calls get the specified error objects."""

import pytest

from ivv.contract.compliance import compliance_matrix
from ivv.contract.matrix import record_matrix, table, transcript

CRITERION = "contract.jsonrpc_compliance"


@pytest.mark.criterion(CRITERION)
def test_jsonrpc_compliance_matrix(contract_probe, evidence, contract_setting):
    rows = compliance_matrix(contract_probe, silence=float(contract_setting("notification_silence_s", 1.0)))
    failed = record_matrix(evidence, CRITERION, "JSON-RPC 2.0 compliance matrix", rows, table(rows),
                           "compliance-exchanges.txt", transcript(rows))
    assert not failed, "compliance rows failed: " + "; ".join(f"{r.name}: {r.observed}" for r in failed)
