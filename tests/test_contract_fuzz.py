"""Fuzz case generation and the params strategies (pure logic: no service involved)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings

from ivv import contract as contract_lib
from ivv.contract_checks import schema_strategy
from ivv.contract_fuzz import MUTATIONS, TRAVERSALS, FuzzCase, FuzzFailure, fuzz_cases

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
    from ivv import redact

    secret = "tok-" + "q9" * 12
    redact.register(secret)
    failure = FuzzFailure("authenticate", "valid", "crash", "down", json.dumps({"auth_token": secret}))
    assert secret not in json.dumps(failure.as_dict())
