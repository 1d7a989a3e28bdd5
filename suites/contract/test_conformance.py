"""Conformance: every operation called as the contract allows (by the least role allowed, over JSON-RPC;
with the spec's links followed, over HTTP); every answer as the contract documents. Then, where the
protocol keeps one, the drift table: documented vs observed."""

import pytest

CRITERION = "contract.conformance"


@pytest.mark.criterion(CRITERION)
@pytest.mark.api_check("conformance")
def test_every_method_conforms(api_checks, evidence):
    failures = api_checks.conformance().record(evidence, CRITERION)
    assert not failures, "; ".join(failures)


@pytest.mark.criterion(CRITERION)
@pytest.mark.api_check("drift")
def test_drift_table(api_checks, evidence):
    failures = api_checks.drift().record(evidence, CRITERION)
    assert not failures, "; ".join(failures)
