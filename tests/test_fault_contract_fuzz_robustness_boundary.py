"""The boundary pass FAILs a service that accepts a value its schema's own constraint forbids: the stub
(tests/stubs/camera_stub.py, fault empty_name_default) takes an empty filename, which the contract's
pattern refuses, as "use the default name", as the reference stack's take_snapshot did. The clean stub
PASSes, and a constraint whose control is refused decides nothing."""

from __future__ import annotations

import copy

from stub_support import CONTRACT, stub_fixture, verdict_of

from ivv.contract.boundary import boundary_cases, boundary_pass
from ivv.contract.document import Contract

CRITERION = "contract.fuzz_robustness"
camera_stub_fixture = stub_fixture()


def test_clean_stub_holds_every_boundary(camera_stub, tmp_path):
    rows = boundary_pass(camera_stub().probe())
    verdict, _ = verdict_of(tmp_path, CRITERION, matrix=rows)
    assert verdict == "PASS", [(r.name, getattr(r, "observed", None) or r.reason) for r in rows]
    assert {"capture_image.filename pattern", "list_images.limit maximum", "get_image_info.filename required"} \
        <= {r.name for r in rows}


def test_fault_contract_fuzz_robustness_empty_name_taken_as_default(camera_stub, tmp_path):
    rows = boundary_pass(camera_stub("empty_name_default").probe())
    verdict, records = verdict_of(tmp_path, CRITERION, matrix=rows)
    assert verdict == "FAIL"
    (failed,) = [r for r in rows if not getattr(r, "passed", True)]
    assert failed.name == "capture_image.filename pattern" and failed.observed.startswith("accepted: result")
    assert '"filename": ""' in failed.exchanges[0]["sent"]


def test_a_boundary_whose_control_is_refused_is_not_verified(camera_stub, tmp_path):
    doc = copy.deepcopy(CONTRACT.doc)  # the contract says 1..1000; the stub refuses anything over 100
    next(m for m in doc["methods"] if m["name"] == "list_images")["params"][0]["schema"]["maximum"] = 1000
    rows = boundary_pass(camera_stub().probe(Contract(doc, "wider contract")), methods=["list_images"])
    by_name = {r.name: r for r in rows}
    assert "its positive control did not succeed" in by_name["list_images.limit maximum"].reason


def test_each_case_breaks_exactly_one_constraint():
    method = CONTRACT.method("capture_image")
    for case in boundary_cases(CONTRACT, method, {"device": "cam0", "filename": "a.jpg"}):
        rules = {v.rule for v in CONTRACT.validate_params(method.name, case.outside)}
        assert rules == {case.constraint}, case
        assert not CONTRACT.validate_params(method.name, case.inside), case
