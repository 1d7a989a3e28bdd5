"""The protocol's compliance matrix, one criterion id per protocol: `contract.jsonrpc_compliance` (JSON-RPC
2.0: malformed, unknown and invalid calls get the specified error objects) and `contract.http_compliance`
(HTTP: unknown route 404, wrong method 405 with Allow, malformed JSON 400 with the documented body,
unsupported media type 415, content negotiation). Each protocol offers the one it speaks."""

import pytest


def _compliance(api_checks, evidence, criterion):
    failures = api_checks.compliance().record(evidence, criterion)
    assert not failures, "compliance rows failed: " + "; ".join(failures)


@pytest.mark.criterion("contract.jsonrpc_compliance")
@pytest.mark.api_check("jsonrpc_compliance")
def test_jsonrpc_compliance_matrix(api_checks, evidence):
    _compliance(api_checks, evidence, "contract.jsonrpc_compliance")


@pytest.mark.criterion("contract.http_compliance")
@pytest.mark.api_check("http_compliance")
def test_http_compliance_matrix(api_checks, evidence):
    _compliance(api_checks, evidence, "contract.http_compliance")
