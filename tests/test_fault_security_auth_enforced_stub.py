"""security.auth_enforced decided by refusals by meaning, on real stub services (tests/stubs/camera_stub.py):
a service that checks params before auth and never asks who calls FAILs (the probe now calls with valid
params), a failed login answered as a success is a refusal plus its own FAIL, a service that refuses even
valid logins leaves every refusal NOT VERIFIED (the control failed), and a contract with no protected
method is NOT VERIFIED. The clean stub PASSes."""

from __future__ import annotations

import copy

from stub_support import CONTRACT, stub_fixture, verdict_of

from ivv.contract.authmatrix import auth_matrix
from ivv.contract.document import Contract
from ivv.security import access, authn
from ivv.security.logins import SUCCESS_SHAPED
from ivv.security.wire import Transcript

CRITERION = "security.auth_enforced"
camera_stub_fixture = stub_fixture()


def probes(surface) -> list:
    return [*authn.token_probes(surface, Transcript()), access.unauthenticated_probe(surface, Transcript()),
            *access.privilege_probes(surface, Transcript())]


def test_clean_stub_enforces_auth(camera_stub, tmp_path):
    stub = camera_stub()
    verdict, records = verdict_of(tmp_path, CRITERION, probes(stub.surface()), matrix=auth_matrix(stub.probe()))
    assert verdict == "PASS", [(r.name, r.observed or r.reason) for r in records if r.verdict != "PASS"]


def test_fault_security_auth_enforced_params_checked_before_auth(camera_stub, tmp_path):
    result = access.unauthenticated_probe(camera_stub("params_before_auth").surface(), Transcript())
    verdict, _ = verdict_of(tmp_path, CRITERION, [result])
    assert verdict == "FAIL"
    assert "capture_image: SUCCEEDED" in result.observed and "get_image_info: SUCCEEDED" in result.observed


def test_fault_security_auth_enforced_success_shaped_login(camera_stub, tmp_path):
    results = authn.token_probes(camera_stub("success_shaped_login").surface(), Transcript())
    verdict, records = verdict_of(tmp_path, CRITERION, results)
    assert verdict == "FAIL"
    by_name = {r.name: r for r in records}
    assert by_name["expired token refused"].verdict == "PASS"  # the next call was refused: no way in
    shaped = by_name[f"expired token refused: {SUCCESS_SHAPED}"]
    assert shaped.verdict == "FAIL" and '"authenticated": false' in shaped.observed


def test_fault_security_auth_enforced_valid_logins_refused_decide_nothing(camera_stub, tmp_path):
    verdict, records = verdict_of(tmp_path, CRITERION, probes(camera_stub("refuse_valid").surface()))
    assert verdict == "NOT VERIFIED"
    assert records and all(r.kind == "gap" for r in records)
    assert any("its positive control did not succeed" in r.reason for r in records)


def test_no_protected_method_is_not_verified(camera_stub, tmp_path):
    doc = copy.deepcopy(CONTRACT.doc)
    for method in doc["methods"]:
        method["x-role"] = None
    public = Contract(doc, "all-public contract")
    stub = camera_stub()
    results = [access.unauthenticated_probe(stub.surface(public), Transcript()),
               *authn.token_probes(stub.surface(public), Transcript())]
    verdict, records = verdict_of(tmp_path, CRITERION, results, matrix=auth_matrix(stub.probe(public)))
    assert verdict == "NOT VERIFIED" and not [r for r in records if r.verdict == "PASS"]
    assert any("0 protected methods" in (r.reason or "") for r in records)
