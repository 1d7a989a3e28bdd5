"""The JSON-RPC 2.0 compliance matrix: malformed, unknown and invalid frames must get the error objects
the specification names (parse error, invalid request, method not found, invalid params), notifications
no reply, batches the right replies, ids echoed exactly; then properties over every reply gathered."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ivv.contract.document import Contract, Method
from ivv.contract.params import valid_params
from ivv.contract.probe import Probe, harvest
from ivv.evidence.facts import Fact
from ivv.rpc.client import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    RpcConnectionLost,
    RpcError,
)
from ivv.rpc.refusals import AUTHENTICATION, PERMISSION, refusals


def _probe_method(contract: Contract, *, needs_params: bool = True) -> Method | None:
    """A method with a required string/integer param (for invalid-params rows)."""
    for m in contract.methods.values():
        if m.role is not None and (m.required_params or not needs_params):
            return m
    return None

def _is_response(frame: Any) -> bool:
    return isinstance(frame, dict) and frame.get("jsonrpc") == "2.0" and ("result" in frame) != ("error" in frame)


def _error_shape_ok(err: Any) -> bool:
    return (isinstance(err, dict) and isinstance(err.get("code"), int) and not isinstance(err.get("code"), bool)
            and isinstance(err.get("message"), str) and set(err) <= {"code", "message", "data"})


def _expect_error(frame: Any, codes: tuple[int, ...], ids: tuple = (None,)) -> tuple[bool, str]:
    if not isinstance(frame, dict):
        return False, f"reply is not a response object: {json.dumps(frame)[:200]}"
    err = frame.get("error")
    if not isinstance(err, dict):
        return False, "no error object" + (" (got a result)" if "result" in frame else "")
    ok = err.get("code") in codes and any(json.dumps(frame.get("id")) == json.dumps(i) for i in ids)
    return ok, f"error {err.get('code')} id={json.dumps(frame.get('id'))}"


def compliance_matrix(probe: Probe, *, silence: float = 1.0) -> list[Fact]:
    """Every row of the JSON-RPC 2.0 compliance matrix against a live service, as the admin role."""
    contract = probe.contract
    harvest(probe)
    rows: list[Fact] = []
    replies: list[Any] = []
    role = contract.roles[-1]
    ping = next((m.name for m in contract.methods.values() if not m.required_params and m.role is not None),
                next(iter(contract.methods)))

    def run(name: str, expected: str, frame: str, judge: Callable[[list], tuple[bool, str]],
            expect_reply: bool = True, session_role: str | None = role) -> None:
        try:
            cli = probe.role_session(session_role) if session_role else probe.client()
        except RpcError as exc:
            rows.append(Fact(name, False, expected, f"could not open a session: {exc}"))
            return
        try:
            ex = cli.send_raw(frame, expect_reply=expect_reply, timeout=probe.timeout if expect_reply else silence)
            got = ex.replies()
            if ex.outcome == "timeout":
                passed, observed = False, f"no reply within {probe.timeout:g} s"
            else:
                passed, observed = judge(got)
            replies.extend(got)
            rows.append(Fact(name, passed, expected, observed, exchanges=(ex.as_dict(),)))
        except RpcConnectionLost as exc:
            rows.append(Fact(name, False, expected, f"connection lost: {exc}",
                             exchanges=tuple(e.as_dict() for e in cli.exchanges[-1:])))
        finally:
            cli.close()

    def single(codes, ids=(None,)):
        return lambda got: _expect_error(got[0], codes, ids) if len(got) == 1 else (False, f"{len(got)} replies")

    def silent(got):
        return (not got, "no reply" if not got else f"replied: {json.dumps(got[0])[:200]}")

    run("parse error", f"error {PARSE_ERROR}, id null",
        '{"jsonrpc": "2.0", "method": "' + ping + '", "id": 1,', single((PARSE_ERROR,)))
    run("invalid request: missing jsonrpc", f"error {INVALID_REQUEST}",
        json.dumps({"method": ping, "id": 2}), single((INVALID_REQUEST,), (2, None)))
    run("invalid request: jsonrpc 1.0", f"error {INVALID_REQUEST}",
        json.dumps({"jsonrpc": "1.0", "method": ping, "id": 3}), single((INVALID_REQUEST,), (3, None)))
    for label, bad_id in (("object", {"a": 1}), ("array", [1]), ("boolean", True)):
        run(f"invalid request: id is {label}", f"error {INVALID_REQUEST}, id null",
            json.dumps({"jsonrpc": "2.0", "method": ping, "id": bad_id}), single((INVALID_REQUEST,)))
    run("invalid request: method not a string", f"error {INVALID_REQUEST}",
        json.dumps({"jsonrpc": "2.0", "method": 42, "id": 4}), single((INVALID_REQUEST,), (4, None)))
    run("invalid request: not an object", f"error {INVALID_REQUEST}, id null", '"hello"', single((INVALID_REQUEST,)))
    run("invalid request: params a scalar", f"error {INVALID_REQUEST} or {INVALID_PARAMS}",
        json.dumps({"jsonrpc": "2.0", "method": ping, "params": 42, "id": 5}),
        single((INVALID_REQUEST, INVALID_PARAMS), (5, None)))
    run("method not found", f"error {METHOD_NOT_FOUND}, id echoed",
        json.dumps({"jsonrpc": "2.0", "method": "ivv_no_such_method", "id": 6}), single((METHOD_NOT_FOUND,), (6,)))
    target = _probe_method(contract)
    if target is not None:
        run(f"invalid params: {target.name} without {target.required_params[0]}", f"error {INVALID_PARAMS}",
            json.dumps({"jsonrpc": "2.0", "method": target.name, "params": {}, "id": 7}), single((INVALID_PARAMS,), (7,)))
        bad = dict(valid_params(target, probe.observed))
        prop = target.params_schema["properties"].get(target.required_params[0], {})
        bad[target.required_params[0]] = {"ivv": ["wrong", "type"]} if prop.get("type") != "object" else 12345
        run(f"invalid params: {target.name} {target.required_params[0]} of wrong type", f"error {INVALID_PARAMS}",
            json.dumps({"jsonrpc": "2.0", "method": target.name, "params": bad, "id": 8}), single((INVALID_PARAMS,), (8,)))
    run("notification gets no reply", f"no reply within {silence:g} s",
        json.dumps({"jsonrpc": "2.0", "method": ping}), silent, expect_reply=False)
    run("notification of unknown method gets no reply", f"no reply within {silence:g} s",
        json.dumps({"jsonrpc": "2.0", "method": "ivv_no_such_method"}), silent, expect_reply=False)
    run("batch: empty", f"one error {INVALID_REQUEST} (not an array)", "[]",
        lambda got: _expect_error(got[0], (INVALID_REQUEST,)) if len(got) == 1 and isinstance(got[0], dict)
        else (False, f"reply: {json.dumps(got)[:200]}"))

    def batch_judge(expect: dict):
        def judge(got):
            if len(got) != 1 or not isinstance(got[0], list):
                return False, f"reply is not one array: {json.dumps(got)[:300]}"
            by_id = {}
            for item in got[0]:
                key = json.dumps(item.get("id")) if isinstance(item, dict) else "?"
                by_id.setdefault(key, []).append(item)
            problems = []
            if len(got[0]) != sum(len(v) if isinstance(v, list) else 1 for v in expect.values()):
                problems.append(f"{len(got[0])} replies")
            for key, want in expect.items():
                wants = want if isinstance(want, list) else [want]
                items = by_id.get(key, [])
                for w, item in zip(wants, items, strict=False):
                    if w == "result" and "result" not in item:
                        problems.append(f"id {key}: no result")
                    elif isinstance(w, int) and (item.get("error") or {}).get("code") != w:
                        problems.append(f"id {key}: {item.get('error')}")
                if len(items) != len(wants):
                    problems.append(f"id {key}: {len(items)} replies, expected {len(wants)}")
            return not problems, "; ".join(problems) or f"{len(got[0])} replies as expected"
        return judge

    run("batch: invalid items", f"array of 3 errors {INVALID_REQUEST}", "[1, 2, 3]",
        batch_judge({"null": [INVALID_REQUEST] * 3}))
    mixed = [{"jsonrpc": "2.0", "method": ping, "id": "b1"}, {"jsonrpc": "2.0", "method": ping},
             {"foo": "bar"}, {"jsonrpc": "2.0", "method": "ivv_no_such_method", "id": "b4"}]
    run("batch: mixed", f"3 replies: b1 result, null {INVALID_REQUEST}, b4 {METHOD_NOT_FOUND}; none for the notification",
        json.dumps(mixed), batch_judge({'"b1"': "result", "null": INVALID_REQUEST, '"b4"': METHOD_NOT_FOUND}))
    run("batch: all notifications", f"no reply within {silence:g} s",
        json.dumps([{"jsonrpc": "2.0", "method": ping}, {"jsonrpc": "2.0", "method": ping}]), silent,
        expect_reply=False)
    for label, rid in (("string", "ivv-\u00fc-\u00e9-\u6f22-1"), ("integer", 2**31 + 7), ("null", None),
                       ("negative integer", -5)):
        run(f"id echoed exactly: {label}", f"reply id {json.dumps(rid)}",
            json.dumps({"jsonrpc": "2.0", "method": ping, "id": rid}),
            lambda got, rid=rid: (len(got) == 1 and isinstance(got[0], dict) and "id" in got[0]
                                  and json.dumps(got[0]["id"]) == json.dumps(rid),
                                  f"reply id {json.dumps(got[0].get('id')) if got and isinstance(got[0], dict) else got}"))
    reasons = refusals(contract.error_codes)
    auth, perm = reasons[AUTHENTICATION], reasons[PERMISSION]
    needs_role = next((m for m in contract.methods.values() if m.role is not None), None)
    if auth.documented and needs_role is not None:
        run(f"unauthenticated call: {needs_role.name}", auth.text,
            json.dumps({"jsonrpc": "2.0", "method": needs_role.name,
                        "params": valid_params(needs_role, probe.observed), "id": 9}),
            single(tuple(auth.codes), (9,)), session_role=None)
    low = contract.roles[0]
    high = next((m for m in contract.methods.values() if m.role is not None and not contract.allows(m.name, low)), None)
    if perm.documented and high is not None:
        run(f"insufficient role: {low} calls {high.name}", perm.text,
            json.dumps({"jsonrpc": "2.0", "method": high.name, "params": valid_params(high, probe.observed), "id": 10}),
            single(tuple(perm.codes), (10,)), session_role=low)
    # Properties over every reply gathered above.
    flat = [r for got in replies for r in (got if isinstance(got, list) else [got])]
    bad_shape = [r for r in flat if not _is_response(r)]
    rows.append(Fact("every reply has result xor error and jsonrpc 2.0", not bad_shape and bool(flat), "all replies",
                     f"{len(flat) - len(bad_shape)}/{len(flat)} replies well formed"
                     + (f"; first bad: {json.dumps(bad_shape[0])[:200]}" if bad_shape else "")))
    errors = [r["error"] for r in flat if isinstance(r, dict) and "error" in r]
    bad_err = [e for e in errors if not _error_shape_ok(e)]
    rows.append(Fact("error objects: integer code, string message, optional data only", not bad_err and bool(errors),
                     "all error objects", f"{len(errors) - len(bad_err)}/{len(errors)} well formed"
                     + (f"; first bad: {json.dumps(bad_err[0])[:200]}" if bad_err else "")))
    undocumented = sorted({e.get("code") for e in errors if isinstance(e, dict)} - set(contract.documented_codes()),
                          key=str)
    rows.append(Fact("error codes are documented", not undocumented, "every code in the contract",
                     f"undocumented: {undocumented}" if undocumented else "all documented"))
    return rows


