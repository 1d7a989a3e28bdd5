"""Bad input: requests the contract forbids get documented errors only; no crash, hang, drop, leak or
server error (over JSON-RPC also no write outside the data folders). Each failure is shrunk to a minimal
request and kept. Then, where the protocol offers it, the boundary pass: every constraint of every param
broken alone, its control just inside it accepted."""

import pytest

CRITERION = "contract.fuzz_robustness"


@pytest.mark.criterion(CRITERION)
@pytest.mark.api_check("fuzz")
def test_fuzz_robustness(api_checks, evidence):
    failures = api_checks.fuzz().record(evidence, CRITERION)
    assert not failures, "; ".join(failures)


@pytest.mark.criterion(CRITERION)
@pytest.mark.api_check("boundaries")
def test_param_boundaries(api_checks, evidence):
    failures = api_checks.boundaries().record(evidence, CRITERION)
    assert not failures, "; ".join(failures)
