"""The contract checks: what the contract suite decides, as plain functions returning plain rows.

Each check talks to a real service through :class:`Probe` (fresh connections, roles, recovery) and
returns rows that a suite turns into evidence: the JSON-RPC 2.0 compliance matrix, the auth matrix,
conformance of results, fuzzing with shrunk reproducers, notification latency, transport security and
the drift table (documented vs observed). Nothing here knows about pytest.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ivv.contract.document import Contract, Method
from ivv.rpc.auth import Credentials, redact_text
from ivv.rpc.client import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    RpcClient,
    RpcConnectError,
    RpcConnectionLost,
    RpcError,
    RpcTimeout,
)

RATE_LIMIT_WORDS = ("rate",)
LEAK_PATTERNS = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|\.py\", line|site-packages|"
    r"\[Errno \d+\]|/usr/lib/python|/opt/[\w.-]+/releases/|\bat 0x[0-9a-f]{6,}",
)
ACCEPTABLE_CLOSE_CODES = (1008, 1009)  # policy violation, message too big: a documented refusal


@dataclass
class Row:
    """One line of a matrix: what was expected, what was seen, and the exact exchange."""

    name: str
    expected: str
    observed: str
    passed: bool
    exchanges: list[dict] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"

    def transcript(self) -> str:
        out = [f"## {self.name}: {self.verdict}", f"expected: {self.expected}", f"observed: {self.observed}"]
        for ex in self.exchanges:
            out.append(f">>> {ex['sent']}")
            out += [f"<<< {r}" for r in ex["received"]]
            out.append(f"    ({ex['outcome']}, {ex['elapsed_ms']} ms)")
        return "\n".join(out) + "\n"


def table(rows: list[Row], columns=("check", "expected", "observed", "verdict")) -> dict:
    """The spine's table convention for evidence details."""
    return {"columns": list(columns),
            "rows": [[r.name, r.expected, redact_text(r.observed), r.verdict] for r in rows]}


def transcript(rows: list[Row]) -> str:
    return "\n".join(r.transcript() for r in rows)


def record_matrix(evidence, criterion: str, title: str, rows: list[Row], table: dict, artifact_name: str,
                  transcript: str) -> list[Row]:
    """One summary check carrying the table, plus one check per failing row with its exchange."""
    art = evidence.artifact(artifact_name, transcript)
    failed = [r for r in rows if not r.passed]
    evidence.check(criterion, title, bool(rows) and not failed, expected=f"{len(rows)}/{len(rows)} rows PASS",
                   observed=f"{len(rows) - len(failed)}/{len(rows)} rows PASS", artifacts=[art],
                   details={"table": {"title": title, **table}})
    for row in failed:
        evidence.check(criterion, f"{title}: {row.name}", False, expected=row.expected, observed=row.observed,
                       artifacts=[art], details={"exchanges": [_short(e) for e in row.exchanges], **row.extra})
    return failed


def _short(exchange: dict, limit: int = 2000) -> dict:
    """Exchanges in evidence details stay readable; the artifact keeps the full frames."""
    def cut(text: str) -> str:
        return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars; full frame in the artifact)"
    return {**exchange, "sent": cut(exchange.get("sent", "")), "received": [cut(r) for r in exchange.get("received", [])]}


# -- observations for drift -------------------------------------------------------------------------
@dataclass
class Observed:
    """What the service was seen doing: codes per method, result fields per method, methods present."""

    codes: dict[str, set[int]] = field(default_factory=dict)
    fields: dict[str, set[str]] = field(default_factory=dict)
    present: set[str] = field(default_factory=set)
    absent: set[str] = field(default_factory=set)
    extra: set[str] = field(default_factory=set)
    notifications: dict[str, set[str]] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)  # param name -> a value the service returned
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # param name -> {method: value}

    def note(self, method: str, frame: Any) -> None:
        if not isinstance(frame, dict):
            return
        err = frame.get("error")
        if isinstance(err, dict) and isinstance(err.get("code"), int):
            self.codes.setdefault(method, set()).add(err["code"])
        elif "result" in frame:
            self.present.add(method)
            res = frame["result"]
            if isinstance(res, dict):
                self.fields.setdefault(method, set()).update(res)
            self._harvest(method, res)

    def _harvest(self, method: str, value: Any, depth: int = 0) -> None:
        """Keep values by key (filename, device...) and by the method that returned them, so later
        calls can use real ones (a recording's filename for get_recording_info)."""
        if depth > 4:
            return
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(v, str | int) and not isinstance(v, bool):
                    self.values.setdefault(k, v)
                    self.sources.setdefault(k, {})[method] = v
                else:
                    self._harvest(method, v, depth + 1)
        elif isinstance(value, list):
            for v in value[:3]:
                self._harvest(method, v, depth + 1)

    def value_for(self, name: str, method: str) -> list[Any]:
        """Candidate values for param ``name`` of ``method``, best first (same words in the method names)."""
        words = set(method.split("_"))
        by_source = self.sources.get(name, {})
        ranked = sorted(by_source.items(), key=lambda kv: -len(words & set(kv[0].split("_"))))
        return [v for _, v in ranked]


# -- probe: connections, roles, recovery --------------------------------------------------------------
@dataclass
class Probe:
    """How the checks reach the service.

    Args:
        url: the JSON-RPC WebSocket URL.
        contract: the loaded contract.
        credentials: to mint tokens per role.
        timeout: per-call timeout (s).
        client_options: passed to RpcClient (verify_tls, ca_file).
        alive: returns True when the service is up (health endpoint); default: a new connection works.
        recover: brings a crashed service back (restart on a local stack, wait for systemd on a device).
        auth_method / auth_param: how a session authenticates.
    """

    url: str
    contract: Contract
    credentials: Credentials
    timeout: float = 5.0
    client_options: dict = field(default_factory=dict)
    alive: Callable[[], bool] | None = None
    recover: Callable[[], None] | None = None
    auth_method: str = "authenticate"
    auth_param: str = "auth_token"
    observed: Observed = field(default_factory=Observed)
    rate_limit_retries: int = 5
    canaries: Callable[[], dict[str, str]] | None = None  # traversal canary files present: path -> stamp

    def client(self) -> RpcClient:
        return RpcClient(self.url, timeout=self.timeout, **self.client_options).connect()

    def session(self, credential: str | None) -> tuple[RpcClient, Any]:
        """A connected client authenticated with ``credential`` (None: not authenticated)."""
        cli = self.client()
        reply = None
        if credential is not None:
            reply = cli.authenticate(credential, method=self.auth_method, param=self.auth_param).frame
            self.observed.note(self.auth_method, reply)
        return cli, reply

    def role_session(self, role: str) -> RpcClient:
        cli, reply = self.session(self.credentials.token(role))
        if not (isinstance(reply, dict) and "result" in reply):
            cli.close()
            raise RpcError(f"{self.url}: a valid {role} token was refused by {self.auth_method}: {reply}")
        return cli

    def top_role_session(self) -> RpcClient | None:
        """A session of the most privileged role, or None when it cannot be opened (for best-effort
        helpers that harvest real values or undo side effects)."""
        try:
            return self.role_session(self.contract.roles[-1])
        except RpcError:
            return None

    def is_alive(self) -> bool:
        if self.alive is not None:
            try:
                return bool(self.alive())
            except Exception:  # noqa: BLE001 - any failure to answer means not alive
                return False
        try:
            with RpcClient(self.url, timeout=2, connect_timeout=2, **self.client_options):
                return True
        except RpcError:
            return False

    @property
    def rate_code(self) -> int | None:
        return self.contract.code_for(*RATE_LIMIT_WORDS)

    def call(self, cli: RpcClient, method: str, params: Any, timeout: float | None = None):
        """A call that waits out a documented rate limit (bounded) and records what it saw."""
        for attempt in range(self.rate_limit_retries + 1):
            resp = cli.call(method, params, timeout=timeout)
            if resp.error_code is not None and resp.error_code == self.rate_code and attempt < self.rate_limit_retries:
                time.sleep(0.2 * (attempt + 1))
                continue
            self.observed.note(method, resp.frame)
            return resp
        return resp


def harvest(probe: Probe) -> None:
    """Call the read-only methods that need no params (get_*, list_*) so later calls can use real values
    (a connected camera's device, an existing filename) instead of made-up ones."""
    contract = probe.contract
    cli = probe.top_role_session()
    if cli is None:
        return
    with cli:
        for m in contract.methods.values():
            if not m.required_params and m.name.startswith(("get_", "list_")):
                try:
                    probe.call(cli, m.name, {})
                except RpcError:
                    continue


# -- params ------------------------------------------------------------------------------------------
def minimal_instance(schema: Any) -> Any:
    """A small value satisfying common schema shapes (enum, const, default, examples, types)."""
    if not isinstance(schema, dict):
        return None
    for key in ("const",):
        if key in schema:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    if schema.get("examples"):
        return schema["examples"][0]
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            return minimal_instance(schema[key][0])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0])
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: minimal_instance(props.get(k, {})) for k in schema.get("required", [])}
    if kind == "array":
        return [minimal_instance(schema.get("items", {})) for _ in range(schema.get("minItems", 0))]
    if kind == "string":
        return "x" * max(1, schema.get("minLength", 1))
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    return None


def valid_params(method: Method, observed: Observed | None = None) -> dict:
    """Params for a call that should succeed: the contract's first example, else a minimal instance,
    with values the service itself returned (a real filename, device) substituted by name."""
    base = dict(method.examples[0]["params"]) if method.examples and isinstance(
        method.examples[0]["params"], dict) else minimal_instance(method.params_schema) or {}
    if observed is not None:
        for name in list(base):
            for value in observed.value_for(name, method.name):
                candidate = {**base, name: value}
                if not _schema_errors(method.params_schema, candidate):
                    base = candidate
                    break
    return base


def harvested_params(method: Method, observed: Observed, limit: int = 3) -> list[dict]:
    """Up to ``limit`` param sets using different values the service returned (e.g. several filenames)."""
    base = valid_params(method, observed)
    out = [base]
    for name in list(base):
        for value in observed.value_for(name, method.name):
            candidate = {**base, name: value}
            if candidate not in out and not _schema_errors(method.params_schema, candidate):
                out.append(candidate)
            if len(out) >= limit:
                return out
    return out


def _schema_errors(schema: dict, value: Any) -> bool:
    from jsonschema import Draft202012Validator
    return any(True for _ in Draft202012Validator(schema).iter_errors(value))


def _probe_method(contract: Contract, *, needs_params: bool = True) -> Method | None:
    """A method with a required string/integer param (for invalid-params rows)."""
    for m in contract.methods.values():
        if m.role is not None and (m.required_params or not needs_params):
            return m
    return None


# -- JSON-RPC 2.0 compliance matrix --------------------------------------------------------------------
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


def compliance_matrix(probe: Probe, *, silence: float = 1.0) -> list[Row]:
    """Every row of the JSON-RPC 2.0 compliance matrix against a live service, as the admin role."""
    contract = probe.contract
    harvest(probe)
    rows: list[Row] = []
    replies: list[Any] = []
    role = contract.roles[-1]
    ping = next((m.name for m in contract.methods.values() if not m.required_params and m.role is not None),
                next(iter(contract.methods)))

    def run(name: str, expected: str, frame: str, judge: Callable[[list], tuple[bool, str]],
            expect_reply: bool = True, session_role: str | None = role) -> None:
        try:
            cli = probe.role_session(session_role) if session_role else probe.client()
        except RpcError as exc:
            rows.append(Row(name, expected, f"could not open a session: {exc}", False))
            return
        try:
            ex = cli.send_raw(frame, expect_reply=expect_reply, timeout=probe.timeout if expect_reply else silence)
            got = ex.replies()
            if ex.outcome == "timeout":
                passed, observed = False, f"no reply within {probe.timeout:g} s"
            else:
                passed, observed = judge(got)
            replies.extend(got)
            rows.append(Row(name, expected, observed, passed, [ex.as_dict()]))
        except RpcConnectionLost as exc:
            rows.append(Row(name, expected, f"connection lost: {exc}", False,
                            [cli.exchanges[-1].as_dict()] if cli.exchanges else []))
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
    auth_code = contract.code_for("auth")
    perm_code = contract.code_for("permission")
    needs_role = next((m for m in contract.methods.values() if m.role is not None), None)
    if auth_code is not None and needs_role is not None:
        run(f"unauthenticated call: {needs_role.name}", f"error {auth_code} ({contract.error_codes[auth_code]})",
            json.dumps({"jsonrpc": "2.0", "method": needs_role.name,
                        "params": valid_params(needs_role, probe.observed), "id": 9}),
            single((auth_code,), (9,)), session_role=None)
    low = contract.roles[0]
    high = next((m for m in contract.methods.values() if m.role is not None and not contract.allows(m.name, low)), None)
    if perm_code is not None and high is not None:
        run(f"insufficient role: {low} calls {high.name}", f"error {perm_code} ({contract.error_codes[perm_code]})",
            json.dumps({"jsonrpc": "2.0", "method": high.name, "params": valid_params(high, probe.observed), "id": 10}),
            single((perm_code,), (10,)), session_role=low)
    # Properties over every reply gathered above.
    flat = [r for got in replies for r in (got if isinstance(got, list) else [got])]
    bad_shape = [r for r in flat if not _is_response(r)]
    rows.append(Row("every reply has result xor error and jsonrpc 2.0", "all replies",
                    f"{len(flat) - len(bad_shape)}/{len(flat)} replies well formed"
                    + (f"; first bad: {json.dumps(bad_shape[0])[:200]}" if bad_shape else ""), not bad_shape and bool(flat)))
    errors = [r["error"] for r in flat if isinstance(r, dict) and "error" in r]
    bad_err = [e for e in errors if not _error_shape_ok(e)]
    rows.append(Row("error objects: integer code, string message, optional data only", "all error objects",
                    f"{len(errors) - len(bad_err)}/{len(errors)} well formed"
                    + (f"; first bad: {json.dumps(bad_err[0])[:200]}" if bad_err else ""), not bad_err and bool(errors)))
    undocumented = sorted({e.get("code") for e in errors if isinstance(e, dict)} - set(contract.documented_codes()),
                          key=str)
    rows.append(Row("error codes are documented", "every code in the contract",
                    f"undocumented: {undocumented}" if undocumented else "all documented", not undocumented))
    return rows


# -- auth matrix -------------------------------------------------------------------------------------
def credential_kinds(creds: Credentials) -> list[str]:
    kinds = ["no_token", "expired", "forged", "alg_none", "not_yet_valid", *creds.roles]
    if creds.revoked_api_key:
        kinds.append("revoked_api_key")
    kinds += [f"api_key:{r}" for r in creds.roles if creds.api_key(r)]
    return kinds


def _credential(creds: Credentials, kind: str) -> tuple[str | None, str | None]:
    """(token, effective role) for a kind; effective role None means no valid identity."""
    if kind in creds.roles:
        return creds.token(kind), kind
    if kind.startswith("api_key:"):
        role = kind.split(":", 1)[1]
        return creds.api_key(role), role
    return creds.bad(kind, "admin"), None


def auth_matrix(probe: Probe, methods: list[str] | None = None, token_in_params: bool = True) -> list[Row]:
    """Every method x every credential kind; a success where the contract refuses is a FAIL.

    Credentials are presented by logging the session in; with ``token_in_params`` each token is also
    sent inside the call's own params (the per-call ``auth_token`` the API allows) on a session that never
    logged in, where a service that trusts a token without checking it would let the call through.
    """
    contract, creds = probe.contract, probe.credentials
    harvest(probe)
    names = methods or [m for m in contract.methods if m != probe.auth_method]
    rows: list[Row] = []
    for kind in credential_kinds(creds):
        token, role = _credential(creds, kind)
        try:
            cli, auth_reply = probe.session(token)
        except RpcError as exc:
            rows.append(Row(f"{probe.auth_method} x {kind}", "a reply", f"no session: {exc}", False))
            continue
        try:
            if token is not None:
                accepted = isinstance(auth_reply, dict) and "result" in auth_reply
                want = role is not None
                rows.append(Row(f"{probe.auth_method} x {kind}", "accepted" if want else "refused",
                                "accepted" if accepted else f"refused ({(auth_reply or {}).get('error')})",
                                accepted == want, [cli.exchanges[-1].as_dict()],
                                {"method": probe.auth_method, "credential": kind}))
            rows += _role_calls(probe, cli, token, role, kind, names, None)
        finally:
            cli.close()
        if token_in_params and token is not None:
            try:
                cli = probe.client()
            except RpcError as exc:
                rows.append(Row(f"{kind} in params", "a session", f"no session: {exc}", False))
                continue
            with cli:
                rows += _role_calls(probe, cli, None, role, f"{kind} in params", names, token)
    _undo_side_effects(probe)
    return rows


def _role_calls(probe: Probe, cli: RpcClient, token: str | None, role: str | None, kind: str, names: list[str],
                param_token: str | None) -> list[Row]:
    """One call per method on ``cli``, judged against the contract's role for ``role``."""
    contract = probe.contract
    refusal = {c for c in (contract.code_for("auth"), contract.code_for("permission")) if c is not None}
    rows = []
    for name in names:
        allowed = contract.allows(name, role)
        params = dict(valid_params(contract.method(name), probe.observed))
        if param_token is not None:
            params[probe.auth_param] = param_token
        try:
            if not cli.connected:
                cli, _ = probe.session(token)
            resp = probe.call(cli, name, params)
        except (RpcTimeout, RpcConnectionLost) as exc:
            rows.append(Row(f"{name} x {kind}", "allowed" if allowed else "refused", f"no reply: {exc}", False,
                            [cli.exchanges[-1].as_dict()] if cli.exchanges else [], {"method": name, "credential": kind}))
            continue
        code = resp.error_code
        refused = code in refusal
        if allowed:
            passed = not refused
            observed = "succeeded" if resp.ok else (f"refused with {code}" if refused
                                                    else f"error {code} (not an auth refusal)")
        else:
            passed = not resp.ok
            observed = f"SUCCEEDED: {name} answered {kind} with a result" if resp.ok else f"refused with {code}"
        rows.append(Row(f"{name} x {kind}", "allowed" if allowed else "refused", observed, passed,
                        [resp.exchange.as_dict()], {"method": name, "credential": kind,
                                                    "refused_code_documented": refused or code is None}))
    return rows


def _undo_side_effects(probe: Probe) -> None:
    """Stop what the matrix started (start_x -> stop_x with the same params), best effort."""
    contract = probe.contract
    cli = probe.top_role_session()
    if cli is None:
        return
    with cli:
        for name in contract.methods:
            if name.startswith("start_") and ("stop_" + name[6:]) in contract.methods:
                stop = contract.method("stop_" + name[6:])
                try:
                    cli.call(stop.name, valid_params(stop, probe.observed))
                except RpcError:
                    pass


def auth_failures(rows: list[Row]) -> list[str]:
    """FAIL rows as 'method accepted credential: exact request' (secrets redacted)."""
    out = []
    for r in rows:
        if not r.passed:
            sent = r.exchanges[0]["sent"] if r.exchanges else ""
            out.append(f"{r.extra.get('method', r.name)} with {r.extra.get('credential', '?')}: "
                       f"expected {r.expected}, observed {r.observed}; request {sent}")
    return out


# -- conformance -------------------------------------------------------------------------------------
@dataclass
class ConformanceResult:
    rows: list[Row]
    violations: list[dict]
    missing: list[str]  # in the contract, the service answers method-not-found
    extra: list[str]  # answered by the service, absent from the contract
    calls: int = 0


COMMON_EXTRA_NAMES = ("rpc.discover", "system.listMethods", "list_methods", "help", "debug", "eval", "exec",
                      "shutdown", "reboot", "restart", "get_config", "set_config", "update_config", "admin",
                      "get_logs", "reset", "factory_reset", "upload_firmware", "get_users", "create_user")


def _order(contract: Contract) -> list[Method]:
    """Producers before consumers: creating calls first, deleting calls last."""
    def rank(m: Method) -> int:
        n = m.name
        if n.startswith(("take_", "start_", "get_camera")):
            return 0
        return 1 if n.startswith("stop_") else (3 if n.startswith(("delete_", "cleanup_")) else 2)
    return sorted((m for m in contract.methods.values()), key=rank)


def conformance(probe: Probe, *, generated: int = 5, extra_names: tuple[str, ...] = (),
                seed: int = 0) -> ConformanceResult:
    """Call every method with its examples and hypothesis-generated valid params by its least role;
    every result must validate against the contract's result schema."""
    contract = probe.contract
    rows: list[Row] = []
    violations: list[dict] = []
    missing: list[str] = []
    calls = 0
    sessions: dict[str, RpcClient] = {}

    def session(role: str | None) -> RpcClient:
        key = role or ""
        cli = sessions.get(key)
        if cli is None or not cli.connected:
            cli = probe.role_session(role) if role else probe.client()
            sessions[key] = cli
        return cli

    try:
        for m in _order(contract):
            if m.name == probe.auth_method:
                continue
            role = contract.least_role(m.name)
            seen: list[dict] = []

            def check(params: Any, origin: str, m=m, role=role, seen=seen) -> None:
                nonlocal calls
                cli = session(role)
                try:
                    resp = probe.call(cli, m.name, params)
                except RpcError as exc:
                    seen.append({"origin": origin, "outcome": f"no reply: {exc}", "ok": False,
                                 "exchange": cli.exchanges[-1].as_dict() if cli.exchanges else None})
                    return
                calls += 1
                entry = {"origin": origin, "exchange": resp.exchange.as_dict()}
                if resp.ok:
                    errs = contract.validate_result(m.name, resp.result)
                    entry.update(ok=not errs, outcome="result valid" if not errs else "; ".join(map(str, errs[:3])))
                    violations.extend(dict(v.as_dict(), origin=origin, request=redact_text(resp.exchange.sent))
                                      for v in errs)
                else:
                    code = resp.error_code
                    documented = code in contract.documented_codes(m.name)
                    entry.update(ok=documented and code != METHOD_NOT_FOUND, code=code,
                                 outcome=f"error {code}" + ("" if documented else " (undocumented)"))
                seen.append(entry)

            for ex in m.examples:
                check(ex["params"], f"example {ex['name']!r}")
            for params in harvested_params(m, probe.observed):
                check(params, "from schema with values the service returned")
            if generated > 0:
                _generated(m, check, generated, seed)()
            succeeded = [e for e in seen if e.get("outcome", "").startswith("result")]
            bad = [e for e in seen if not e.get("ok") and (e.get("code") is None or e.get("outcome", "").endswith("(undocumented)")
                                                          or e.get("code") == METHOD_NOT_FOUND)]
            if all(e.get("code") == METHOD_NOT_FOUND for e in seen if "code" in e) and not succeeded and seen:
                missing.append(m.name)
            observed = (f"{len(seen)} calls, {len(succeeded)} results checked, "
                        f"{sum(1 for e in seen if e.get('code') is not None)} documented errors")
            if bad:
                observed += f"; first problem: {bad[0]['outcome']}"
            rows.append(Row(m.name, f"results valid ({role or 'no auth'})", observed, not bad,
                            [e["exchange"] for e in (bad or seen)[:3] if e.get("exchange")],
                            {"calls": len(seen), "results": len(succeeded)}))
        extra = _probe_extra(probe, session(contract.roles[-1]), extra_names)
    finally:
        for cli in sessions.values():
            cli.close()
    probe.observed.absent.update(missing)
    probe.observed.extra.update(extra)
    return ConformanceResult(rows, violations, missing, extra, calls)


def schema_strategy(schema: Any):
    """Hypothesis strategy for values valid against ``schema``.

    Objects are composed here (fixed required keys, optional others) and leaves come from
    hypothesis-jsonschema: its own object strategy relies on hypothesis internals that newer
    hypothesis releases changed (``many.more``), and params objects are simple enough to build directly.
    """
    from hypothesis import strategies as st
    from hypothesis_jsonschema import from_schema

    if isinstance(schema, dict) and (schema.get("type") == "object" or "properties" in schema) \
            and not any(k in schema for k in ("oneOf", "anyOf", "allOf", "patternProperties", "if")):
        props = schema.get("properties", {})
        required = [k for k in schema.get("required", []) if k in props]
        optional = {k: schema_strategy(v) for k, v in props.items() if k not in required}
        return st.fixed_dictionaries({k: schema_strategy(props[k]) for k in required}, optional=optional)
    return from_schema(schema if schema not in ({}, True) else {"type": ["string", "integer", "boolean", "null"]})


def _generated(m: Method, check: Callable, n: int, seed: int) -> Callable[[], None]:
    """A hypothesis run calling ``check`` with ``n`` params generated from the method's params schema."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @hseed(seed)
    @given(schema_strategy(m.params_schema))
    def generated_calls(params):
        check(params, "hypothesis")

    return generated_calls


def _probe_extra(probe: Probe, cli: RpcClient, names: tuple[str, ...]) -> list[str]:
    """Methods the service answers that the contract lacks (anything but method-not-found)."""
    found = []
    candidates = list(dict.fromkeys([*names, *COMMON_EXTRA_NAMES]))
    for name in candidates:
        if name in probe.contract.methods:
            continue
        try:
            resp = cli.call(name, {})
        except RpcError:
            continue
        if resp.error_code != METHOD_NOT_FOUND:
            found.append(name)
            if name == "rpc.discover" and resp.ok and isinstance(resp.result, dict):
                listed = {m.get("name") for m in resp.result.get("methods", []) if isinstance(m, dict)}
                found += sorted(n for n in listed - set(probe.contract.methods) if n)
    return found


# -- drift -------------------------------------------------------------------------------------------
def _documented_fields(schema: Any) -> tuple[set[str], set[str]]:
    """Top-level properties and required names of an object schema, through allOf/anyOf/oneOf parts."""
    if not isinstance(schema, dict):
        return set(), set()
    props, required = set(schema.get("properties", {})), set(schema.get("required", []))
    for key in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(key, []):
            p, r = _documented_fields(part)
            props |= p
            if key == "allOf":
                required |= r
    return props, required


def drift(contract: Contract, observed: Observed) -> list[Row]:
    """Documented vs observed: codes used, result fields present, methods, notifications."""
    rows = []
    documented = set(contract.documented_codes())
    seen_codes = set().union(*observed.codes.values()) if observed.codes else set()
    extra_codes = sorted(seen_codes - documented)
    unused = sorted(set(contract.error_codes) - seen_codes)
    rows.append(Row("error codes", f"{sorted(documented)}", f"seen {sorted(seen_codes)}"
                    + (f"; undocumented {extra_codes}" if extra_codes else "")
                    + (f"; documented but never seen {unused}" if unused else ""), not extra_codes))
    for name, m in contract.methods.items():
        props, required = _documented_fields(m.result_schema)
        fields_seen = observed.fields.get(name)
        if fields_seen is None:
            state = "absent (method not found)" if name in observed.absent else (
                "no result observed" if name not in observed.present else "non-object result")
            rows.append(Row(f"method {name}", f"{len(props)} documented fields", state, name not in observed.absent))
            continue
        missing = sorted(required - fields_seen)
        undocumented = sorted(fields_seen - props) if props else []
        codes = sorted(observed.codes.get(name, set()))
        rows.append(Row(f"method {name}", f"fields {sorted(props)}",
                        f"seen {sorted(fields_seen)}" + (f"; missing {missing}" if missing else "")
                        + (f"; undocumented {undocumented}" if undocumented else "")
                        + (f"; codes {codes}" if codes else ""), not missing))
    for name in sorted(observed.extra):
        rows.append(Row(f"method {name}", "not in the contract", "answered by the service", False))
    for name, fields_seen in observed.notifications.items():
        schema = contract.notifications.get(name)
        props = set(schema.schema.get("properties", {})) if schema else set()
        rows.append(Row(f"notification {name}", f"fields {sorted(props)}" if schema else "not in the contract",
                        f"seen {sorted(fields_seen)}", schema is not None and fields_seen <= props | fields_seen))
    return rows


# -- notifications -----------------------------------------------------------------------------------
@dataclass
class NotificationResult:
    rows: list[Row]
    latencies_ms: list[float]


def notification_latency(probe: Probe, *, trigger: str, params: dict, untrigger: str | None,
                         notification: str, wait: float = 5.0, role: str | None = None) -> NotificationResult:
    """Call ``trigger`` (then ``untrigger``) and time each ``notification``.

    The event is the state change the call makes, which happens between the request and the reply, so
    each row holds a bracket: `latency_ms` from the reply (the lower bound, 0 when the notification came
    first; also in `latencies_ms`) and `since_request_ms` (the upper bound). The suite decides on them.
    """
    contract = probe.contract
    harvest(probe)
    role = role or contract.least_role(trigger) or contract.roles[-1]
    rows, lat = [], []
    with probe.role_session(role) as cli:
        for step in [trigger, *([untrigger] if untrigger else [])]:
            cli.notifications.clear()
            t_sent = time.monotonic()
            resp = probe.call(cli, step, params)
            t_reply = t_sent + (resp.exchange.elapsed or 0.0)
            if not resp.ok:
                rows.append(Row(f"{step} -> {notification}", "call succeeds", f"error {resp.error}", False,
                                [resp.exchange.as_dict()]))
                continue
            got = cli.wait_notification(notification, timeout=wait)
            if got is None:
                rows.append(Row(f"{step} -> {notification}", f"notification within {wait:g} s", "none received",
                                False, [resp.exchange.as_dict()]))
                continue
            latency = max(0.0, got["monotonic"] - t_reply) * 1000
            upper = (got["monotonic"] - t_sent) * 1000  # the event happened after the request was sent
            lat.append(latency)
            params_seen = got["frame"].get("params")
            if isinstance(params_seen, dict):
                probe.observed.notifications.setdefault(notification, set()).update(params_seen)
            errs = contract.validate_notification(notification, params_seen)
            rows.append(Row(f"{step} -> {notification}", "schema valid",
                            f"{latency:.1f}-{upper:.1f} ms (after reply-request); " + ("valid" if not errs else "; ".join(map(str, errs[:3]))),
                            not errs, [resp.exchange.as_dict(), {"sent": "", "received": [json.dumps(got["frame"])],
                                                                 "outcome": "notification", "elapsed_ms": round(latency, 3)}],
                            {"latency_ms": latency, "since_request_ms": round(upper, 3),
                             "before_reply": got["monotonic"] < t_reply}))
    return NotificationResult(rows, lat)


# -- transport -----------------------------------------------------------------------------------------
def plain_ws_refused(host: str, port: int, path: str, timeout: float = 3.0) -> Row:
    """A plain ws:// handshake on the TLS port must not reach a JSON-RPC session."""
    url = f"ws://{host}:{port}{path}"
    try:
        cli = RpcClient(url, timeout=timeout, connect_timeout=timeout).connect()
    except RpcConnectError as exc:
        return Row("plain ws:// refused", "handshake fails", f"refused: {exc}", True)
    with cli:
        try:
            resp = cli.call("ping", None)
            observed = f"plain ws:// session answered: {json.dumps(resp.frame)[:200]}"
        except RpcError as exc:
            observed = f"connected, then {exc}"
    return Row("plain ws:// refused", "handshake fails", observed, False,
               [e.as_dict() for e in cli.exchanges])


def wss_works(probe: Probe) -> Row:
    try:
        cli = probe.role_session(probe.contract.roles[0])
    except RpcError as exc:
        return Row("wss:// session", "authenticated session", f"failed: {exc}", False)
    with cli:
        info = cli.tls_info
        return Row("wss:// session", "authenticated session over TLS",
                   f"{info.get('version')} {info.get('cipher', [''])[0]}", bool(info),
                   [e.as_dict() for e in cli.exchanges], {"tls": info})


