"""Fuzz case generation and the params strategies (pure logic: no service involved)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings

from ivv.contract import document as contract_lib
from ivv.contract.fuzz import FuzzFailure
from ivv.contract.fuzzcases import MUTATIONS, TRAVERSALS, FuzzCase, fuzz_cases
from ivv.contract.params import schema_strategy

DOC = {
    "openrpc": "1.2.6", "info": {"title": "t", "version": "1"},
    "methods": [{"name": "take_snapshot", "x-role": "operator", "params": [
        {"name": "device", "required": True, "schema": {"type": "string", "minLength": 1}},
        {"name": "filename", "schema": {"type": "string"}},
        {"name": "limit", "schema": {"type": "integer", "minimum": 1}}],
        "result": {"name": "r", "schema": {"type": "object"}}}],
}
CONTRACT = contract_lib.Contract(DOC)
METHOD = CONTRACT.method("take_snapshot")


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(schema_strategy(METHOD.params_schema))
def test_schema_strategy_gives_valid_params(params):
    assert CONTRACT.validate_params("take_snapshot", params) == []


def test_every_mutation_is_generated_and_frames_name_the_method():
    seen: dict[str, FuzzCase] = {}

    @settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(fuzz_cases(METHOD, {"device": "/dev/video0"}))
    def collect(case):
        seen.setdefault(case.mutation, case)
        assert f'"method": "{METHOD.name}"' in case.frame

    collect()
    assert set(seen) == set(MUTATIONS)
    deep = seen["deep_nesting"].frame
    assert deep.count("[") >= 20 and "__ivv_deep__" not in deep
    traversal = json.loads(seen["path_traversal"].frame)["params"]
    assert any(v in TRAVERSALS for v in traversal.values())
    bad = json.loads(seen["params_not_object"].frame)["params"]
    assert not isinstance(bad, dict)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(fuzz_cases(METHOD))
def test_type_and_required_mutations_break_the_schema(case):
    if case.mutation in ("wrong_type", "missing_required"):
        params = json.loads(case.frame)["params"]
        assert CONTRACT.validate_params("take_snapshot", params), case.frame


def test_failure_record_redacts_secrets():
    from ivv.evidence import redact

    secret = "tok-" + "q9" * 12
    redact.register(secret)
    failure = FuzzFailure("authenticate", "valid", "crash", "down", json.dumps({"auth_token": secret}))
    assert secret not in json.dumps(failure.as_dict())


def test_coverage_cases_put_every_kind_of_bad_input_on_every_param_once():
    from ivv.contract.fuzzcases import coverage_cases

    cases = coverage_cases(METHOD, {"device": "/dev/video0"})
    hit = {(c.mutation, c.param) for c in cases}
    for param in ("device", "filename", "limit"):
        assert {("wrong_type", param), ("huge_string", param), ("unicode", param), ("null_value", param)} <= hit
    assert ("extreme_number", "limit") in hit and ("extreme_number", "filename") not in hit
    assert ("path_traversal", "filename") in hit and ("missing_required", "device") in hit
    assert {"extra_field", "deep_nesting", "params_not_object"} <= {c.mutation for c in cases}
    ids = set()
    for case in cases:
        if case.mutation == "deep_nesting":  # deeper than json.loads goes; that is the point
            assert case.frame.count("[") >= 1000
            continue
        sent = json.loads(case.frame)
        assert sent["method"] == "take_snapshot"
        ids.add(sent["id"])
        if case.mutation in ("wrong_type", "null_value", "missing_required"):
            # each breaks the contract on its own (a valid device elsewhere), or it would test nothing
            assert CONTRACT.validate_params("take_snapshot", sent["params"]), case
    assert len(ids) == len(cases) - 1
