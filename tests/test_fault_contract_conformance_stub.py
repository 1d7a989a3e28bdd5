"""contract.conformance, the auth matrix's allowed cells and fuzzing can FAIL on a service that answers
every valid call with an internal error (-32603 is never conformance), and nothing observed is NOT
VERIFIED: real stub services on 127.0.0.1 (tests/stubs/camera_stub.py), the clean stub PASSing."""

from __future__ import annotations

import pytest
from stub_support import CONTRACT, stub_fixture, verdict_of

from ivv.contract.authmatrix import auth_matrix
from ivv.contract.conformance import conformance
from ivv.contract.drift import drift
from ivv.contract.fuzz import fuzz
from ivv.contract.probe import Observed

CONFORMANCE, AUTH, FUZZ = "contract.conformance", "security.auth_enforced", "contract.fuzz_robustness"

def judged(tmp_path, stub):
    result = conformance(stub.probe(), generated=2)
    verdict, _ = verdict_of(tmp_path, CONFORMANCE, result.facts(), matrix=result.rows)
    return verdict, {r.name: r for r in result.rows}, result
camera_stub_fixture = stub_fixture()


def test_clean_stub_conforms(camera_stub, tmp_path):
    verdict, rows, result = judged(tmp_path, camera_stub())
    assert verdict == "PASS", {n: r.observed for n, r in rows.items()}
    assert result.missing == [] and result.nonconforming == []


def test_fault_contract_conformance_internal_errors(camera_stub, tmp_path):
    verdict, rows, result = judged(tmp_path, camera_stub("internal_errors"))
    assert verdict == "FAIL"
    assert "an internal error is never a documented answer" in rows["ping"].observed
    assert "never answered with a result" in rows["capture_image"].observed  # -32004 and -32603 only
    assert result.missing == []  # internal errors are not a missing method


def test_fault_security_auth_enforced_internal_errors_in_allowed_cells(camera_stub, tmp_path):
    rows = auth_matrix(camera_stub("internal_errors").probe())
    verdict, _ = verdict_of(tmp_path, AUTH, matrix=rows)
    assert verdict == "FAIL"
    cells = {r.name: r for r in rows}
    assert not cells["ping x viewer"].passed and "internal error" in cells["ping x viewer"].observed
    assert cells["get_config x viewer"].passed  # a refused cell is still judged as a refusal


@pytest.mark.slow
def test_fault_contract_fuzz_robustness_internal_errors(camera_stub, tmp_path):
    report = fuzz(camera_stub("internal_errors").probe(), max_examples=20, seconds=6, shrink_seconds=4,
                  methods=["ping", "get_config"])
    verdict, _ = verdict_of(tmp_path, FUZZ, report.facts())
    assert verdict == "FAIL" and {f.kind for f in report.failures} == {"internal-error"}


def test_drift_with_nothing_observed_is_not_verified(tmp_path):
    rows = drift(CONTRACT, Observed())
    verdict, records = verdict_of(tmp_path, CONFORMANCE, matrix=rows)
    assert verdict == "NOT VERIFIED" and all(r.kind == "gap" for r in records)


def test_notification_drift_is_judged(tmp_path):
    contract = CONTRACT.__class__({**CONTRACT.doc, "x-notifications": [
        {"name": "image_ready", "params": [{"name": "filename", "required": True, "schema": {"type": "string"}}]}]})
    seen = Observed(notifications={"image_ready": {"size"}})
    rows = {r.name: r for r in drift(contract, seen)}
    assert not rows["notification image_ready"].passed and "missing ['filename']" in rows["notification image_ready"].observed
