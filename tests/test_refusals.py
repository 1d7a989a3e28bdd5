"""Refusals by meaning, replies judged, and secrets judged, from small dicts (no service): the rules the
contract checks and the security probes share."""

from __future__ import annotations

import json

import pytest

from ivv.contract import document as contract_lib
from ivv.contract.conformance import method_row
from ivv.contract.outcome import judge
from ivv.rpc.client import Reply
from ivv.rpc.refusals import AUTHENTICATION, PERMISSION, RATE, SIZE, judge_login, refusals
from ivv.security.limits import padded_call
from ivv.security.tokens import secret_weaknesses

CODES = {-32001: "Authentication failed or token expired", -32003: "Insufficient permissions",
         -32007: "Insufficient storage", -32004: "Camera not found"}


def error(code: int) -> Reply:
    return Reply("m", {"jsonrpc": "2.0", "error": {"code": code, "message": "x"}, "id": 1})


def result(value=None) -> Reply:
    return Reply("m", {"jsonrpc": "2.0", "result": value if value is not None else {"ok": True}, "id": 1})


def test_each_reason_has_its_documented_refusal():
    reasons = refusals(CODES, {"rate": -32002})
    assert reasons[AUTHENTICATION].codes == {-32001} and reasons[PERMISSION].codes == {-32003}
    assert reasons[RATE].codes == {-32002} and "the profile" in reasons[RATE].source
    assert not reasons[SIZE].documented and reasons[SIZE].close_codes == {1009}  # the WebSocket's own
    assert (reasons[AUTHENTICATION].http_status, reasons[SIZE].http_status) == (401, 413)
    assert reasons[AUTHENTICATION].matches(error(-32001))
    assert not reasons[AUTHENTICATION].matches(error(-32602))  # any error is not a refusal
    assert reasons[SIZE].matches(Reply("m", lost=True, close_code=1009))
    assert not reasons[SIZE].matches(Reply("m", lost=True, close_code=None))  # a drop is not one either


@pytest.mark.parametrize("login, after, refused, shaped, accepted, problems", [
    (error(-32001), error(-32001), True, False, False, 0),
    (result({"authenticated": False}), error(-32001), True, True, False, 0),   # a refusal shaped as a success
    (error(-32001), result("pong"), False, False, True, 0),                   # said no, let it in
    (error(-32602), error(-32001), True, False, False, 1),                    # login refused, not as documented
    (error(-32001), error(-32603), False, False, False, 1),                   # the next call broke, not refused
])
def test_a_failed_login_is_judged_by_the_protected_call_after_it(login, after, refused, shaped, accepted, problems):
    outcome = judge_login(refusals(CODES)[AUTHENTICATION], login, after, "ping")
    assert (outcome.refused, outcome.success_shaped, outcome.accepted, len(outcome.problems)) == \
        (refused, shaped, accepted, problems)


DOC = {"openrpc": "1.2.6", "info": {"title": "t", "version": "1"}, "methods": [
    {"name": "ping", "x-role": "viewer", "params": [], "result": {"name": "r", "schema": {"const": "pong"}},
     "errors": [{"code": -32001, "message": "Authentication failed"}]},
    {"name": "get", "x-role": "viewer", "params": [{"name": "id", "required": True, "schema": {"type": "string"}}],
     "errors": [{"code": -32602, "message": "Invalid params"}, {"code": -32004, "message": "Not found"}]}]}
CONTRACT = contract_lib.Contract(DOC)


@pytest.mark.parametrize("method, frame, valid, strict, kind, passed", [
    ("ping", {"result": "pong"}, True, True, "result", True),
    ("ping", {"result": "nope"}, True, True, "invalid result", False),
    ("ping", {"error": {"code": -32603}}, True, True, "internal error", False),   # never conformance
    ("ping", {"error": {"code": -32601}}, True, True, "method not found", False),
    ("ping", {"error": {"code": -32602}}, True, True, "undocumented error", False),  # not listed by ping
    ("ping", {"error": {"code": -32602}}, False, False, "documented error", True),  # bad input: any method
    ("get", {"error": {"code": -32004}}, True, True, "documented error", True),
    ("get", {"result": {}}, False, False, "accepted invalid input", False),
    ("get", {"error": {"code": -32603}}, False, False, "internal error", False),
    ("get", "Traceback...", True, True, "not a response", False),
])
def test_one_rule_judges_every_reply(method, frame, valid, strict, kind, passed):
    outcome = judge(CONTRACT, method, frame, params_valid=valid, strict=strict)
    assert (outcome.kind, outcome.passed) == (kind, passed)


def test_a_method_is_conforming_only_on_results():
    ok = judge(CONTRACT, "get", {"result": {}}, params_valid=True, strict=True)
    documented = judge(CONTRACT, "get", {"error": {"code": -32004}}, params_valid=True, strict=True)
    internal = judge(CONTRACT, "get", {"error": {"code": -32603}}, params_valid=True, strict=True)
    assert method_row("get", "results valid", [{"outcome": ok}, {"outcome": documented}]).passed
    never = method_row("get", "results valid", [{"outcome": documented}, {"outcome": documented}])
    assert not never.passed and "never answered with a result" in never.observed
    assert not method_row("get", "results valid", [{"outcome": ok}, {"outcome": internal}]).passed
    unanswered = method_row("get", "results valid", [{"outcome": None, "problem": "no reply"}])
    assert unanswered.verdict == "NOT VERIFIED"  # nothing answered: nothing to judge


def test_standard_codes_are_not_documented_for_every_method():
    assert CONTRACT.answer_codes("ping") == {-32001}
    assert -32603 not in CONTRACT.documented_codes("get") and -32601 not in CONTRACT.documented_codes("get")
    assert {-32700, -32600, -32602} <= CONTRACT.documented_codes("ping")  # the refusals of bad input


@pytest.mark.parametrize("secret, problems", [
    ("c8Yq" * 12, []),                                           # 48 random-looking bytes
    ("changeme", ["shorter than the 32 bytes", "placeholder secrets"]),
    ("change-this-default-secret-in-production-please", ["placeholder words"]),
    ("MySuperSecretJwtKey_2024_for_testing_only", ["placeholder words"]),
    ("a" * 31, ["shorter than the 32 bytes"]),
])
def test_the_configured_secret_is_judged_without_being_shown(secret, problems):
    found = secret_weaknesses(secret, "HS256")
    assert len(found) == len(problems) and all(p in f for p, f in zip(problems, found, strict=True))
    assert not any(secret in f for f in found)
    assert "shorter than the 64 bytes HS512" in secret_weaknesses("k" * 48, "HS512")[0]


def test_padded_calls_are_valid_json_of_the_exact_size():
    frame = padded_call("ping", 4096)
    assert len(frame.encode()) == 4096 and json.loads(frame) == {"jsonrpc": "2.0", "method": "ping", "id": 1}
