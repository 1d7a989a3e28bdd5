"""Error replies must say what went wrong without telling an attacker how the service is built.

Malformed frames, hostile params and bad logins are sent on purpose; every reply that is not a success is
scanned whatever its shape (an error object, an error given as a string, raw text that is not JSON) for
stack traces, source paths, exception class names, memory addresses and the service's own secrets
(`ivv.security.leaks`). No error reply at all is nothing scanned: NOT VERIFIED, never a PASS.
"""

from __future__ import annotations

import json

from ivv.evidence.facts import Fact, Undecided, observed
from ivv.security import tokens
from ivv.security.leaks import reply_leaks
from ivv.security.surface import ERROR_DISCLOSURE, Surface
from ivv.security.wire import Transcript


def provocations(surface: Surface) -> list[tuple[str, str, str | None]]:
    """(what, raw frame, None) or (what, method, params-json): inputs that make sloppy services throw."""
    frames = [
        ("truncated JSON", '{"jsonrpc": "2.0", "method": "ping", "id": 1', None),
        ("wrong types in the envelope", '{"jsonrpc": 2, "method": ["x"], "id": {"a": 1}}', None),
        ("path as method name", '{"jsonrpc": "2.0", "method": "../../../../etc/passwd", "id": 2}', None),
        ("invalid UTF-8 escape", '{"jsonrpc": "2.0", "method": "ping\\udc80", "id": 3}', None),
        ("login with an object", json.dumps({"jsonrpc": "2.0", "method": surface.auth_method,
                                             "params": {surface.auth_param: {"$ne": None}}, "id": 4}), None),
        ("login with a number", json.dumps({"jsonrpc": "2.0", "method": surface.auth_method,
                                            "params": {surface.auth_param: 12345}, "id": 5}), None),
        ("login with positional params", json.dumps({"jsonrpc": "2.0", "method": surface.auth_method,
                                                     "params": [None, None, None], "id": 6}), None),
    ]
    return frames


def hostile_params(surface: Surface) -> list[tuple[str, dict]]:
    """For each method with required params: wrong types and traversal strings in every param."""
    out = []
    for name, method in sorted(surface.contract.methods.items()):
        if name == surface.auth_method or not method.required_params:
            continue
        out.append((name, {p: {"nested": [None, {"x": 1e308}]} for p in method.required_params}))
        out.append((name, {p: "../../../../etc/passwd\x00" for p in method.required_params}))
    return out


def disclosure_probe(surface: Surface, transcript: Transcript) -> Fact | Undecided:
    creds = surface.credentials
    secrets = [s for s in [creds.jwt_secret, creds.revoked_api_key, *creds.api_keys.values()] if s]
    mark = transcript.mark()
    transcript.note("probe: malformed frames, hostile params and bad logins; error texts scanned")
    replies = []
    opened = []

    def fresh(name: str, token: str | None = None):
        conn = surface.connect(name, transcript)
        opened.append(conn)
        if token:
            conn.call(surface.auth_method, {surface.auth_param: token})
        return conn

    top = surface.token(surface.roles[-1])
    expired = creds.expired(surface.roles[-1])
    transcript.describe(top, tokens.describe(top, f"valid {surface.roles[-1]} credential"))
    transcript.describe(expired, tokens.describe(expired, "expired"))
    try:
        conn = fresh("anon")
        for what, frame, _ in provocations(surface):
            replies.append((what, conn.send_raw(frame)))
            conn = conn if conn.open else fresh("anon")
        replies.append(("expired login", conn.call(surface.auth_method, {surface.auth_param: expired})))
        conn = fresh("admin", top)
        for method, params in hostile_params(surface):
            replies.append((f"{method} with hostile params", conn.call(method, params)))
            conn = conn if conn.open else fresh("admin", top)
    finally:
        for each in opened:
            each.close()
    problems, errors = [], 0
    for what, reply in replies:
        if reply.ok or reply.exchange is None or not reply.exchange.received:
            continue  # a success is judged by its schema elsewhere; a closed connection says nothing
        errors += 1
        found = reply_leaks(reply.frame, "\n".join(reply.exchange.received), secrets)
        if found:
            problems.append(f"{what}: {', '.join(found)}")
    name = "error replies leak no internals or secrets"
    none = observed(name, errors, criterion=ERROR_DISCLOSURE, what="error replies to scan")
    if none is not None:
        return none
    return Fact(name, not problems,
                expected="error replies without stack traces, source paths, exception names or secrets",
                observed="; ".join(problems) if problems else f"{errors} error replies, none leaking",
                exchanges=(transcript.render(mark),), details={"provocations": len(replies), "leaks": problems},
                criterion=ERROR_DISCLOSURE)
