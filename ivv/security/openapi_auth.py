"""The auth matrix over HTTP (`security.auth_enforced`): every operation the OpenAPI document protects x
{no credentials, a forged token, an alg-none token, an expired token when the stack's signing secret is
known}, each of which must get the documented refusal (401 or 403, and a status the spec documents for
the operation), never an answer; and x each role, when tokens of every role can be made: a role below
the operation's least role must get the documented 403, a role at or above it an answer.

Roles: a security requirement's list names the least role (OpenAPI 3.1 lets a non-OAuth scheme list role
names; ivv reads it in 3.0 documents too); the ranks are the profile's `auth.roles`, lowest first. A
requirement listing no role admits every role.

Each row has its positive control: the same request (one valid request schemathesis generates for the
operation) with the valid credentials must be answered (not 401/403, not 5xx), else the row proves nothing
and is `Undecided`. Which operations are protected, and where their credentials go, comes from the spec's
`security` (operation level over document level) and `components.securitySchemes`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

import requests

from ivv.contract.http_compliance import one_valid_case
from ivv.contract.openapi import exchange_of, operations
from ivv.evidence.facts import Fact, Undecided, controlled
from ivv.rpc.auth import claims, sign
from ivv.security.tokens import PROBE_USER

CRITERION = "security.auth_enforced"
REFUSALS = (401, 403)


def requirements(raw: dict, operation) -> list[dict]:
    """The operation's security requirements ([] or [{}] in the list: it is public)."""
    found = operation.definition.raw.get("security", raw.get("security", []))
    return list(found or [])


def credential_headers(raw: dict, requirement: dict) -> list[str] | None:
    """The header names a requirement's schemes put credentials in (None: a scheme ivv cannot strip yet)."""
    schemes = (raw.get("components") or {}).get("securitySchemes") or {}
    names = []
    for name in requirement:
        scheme = schemes.get(name) or {}
        if scheme.get("type") == "http" or scheme.get("type") in ("oauth2", "openIdConnect"):
            names.append("Authorization")
        elif scheme.get("type") == "apiKey" and scheme.get("in") == "header":
            names.append(scheme.get("name", ""))
        else:
            return None
    return names


def admitted(requirement: dict, roles: tuple[str, ...]) -> set[str]:
    """The roles of `roles` (lowest first) a requirement admits: its least listed role and every one above."""
    named = [r for names in requirement.values() for r in (names or [])]
    ranked = [roles.index(r) for r in named if r in roles]
    if not named:
        return set(roles)
    return set(roles[min(ranked):]) if ranked else set(named) & set(roles)


def role_rows(label: str, send, admits: set[str], roles: tuple[str, ...], token_for, documented: list[int],
              control: Fact) -> list[Fact | Undecided]:
    """One row per role: refused with the documented 403 below the least role (under the control), answered
    at or above it."""
    out: list[Fact | Undecided] = []
    for role in roles:
        response, exchange = send({"Authorization": f"Bearer {token_for(role)}"})
        status = response.status_code if response is not None else None
        seen = status if response is not None else exchange
        exchanges = (exchange,) if response is not None else ()
        if role in admits:
            out.append(Fact(f"{label} as {role} is answered", status is not None and status not in REFUSALS
                            and status < 500, "answered (not 401/403, not 5xx)", seen, exchanges=exchanges,
                            details={"role": role}))
        else:
            probe = Fact(f"{label} as {role} is refused", status == 403 and 403 in documented,
                         "the documented refusal 403" if 403 in documented else "403, documented (it is not)",
                         seen, exchanges=exchanges, details={"role": role})
            out.append(controlled(probe, control))
    return out


def hostile_tokens(role: str, jwt_secret: str | None) -> dict[str, str]:
    """Bearer tokens that must all be refused, by what is wrong with them."""
    body = claims(role, PROBE_USER)
    out = {"a forged token (random key)": sign(body, secrets.token_hex(16)),
           "an alg-none token": sign(body, "", "none")}
    if jwt_secret:
        out["an expired token"] = sign(claims(role, PROBE_USER, exp_in=-3600), jwt_secret)
    return out


def _send(session, kwargs: dict, timeout: float):
    started = time.perf_counter()
    try:
        response = session.request(**kwargs, timeout=timeout)
    except requests.RequestException as exc:
        return None, f"no answer: {type(exc).__name__}: {str(exc)[:200]}"
    return response, exchange_of(response, (time.perf_counter() - started) * 1000)


def auth_matrix(spec, base_url: str, headers: dict, jwt_secret: str | None = None, role: str = "admin",
                timeout: float = 10.0, seed: int = 0, roles: tuple[str, ...] = (),
                token_for: Callable[[str], str] | None = None) -> list[Fact | Undecided]:
    """One row per protected operation and hostile credential, and per role when `token_for(role)` can
    make a valid token of each of `roles` (lowest first); `headers` hold the valid credentials."""
    ops = operations(spec)
    raw = ops[0].schema.raw_schema if ops else {}
    out: list[Fact | Undecided] = []
    with requests.Session() as session:
        for op in ops:
            needed = requirements(raw, op)
            if not needed or any(req == {} for req in needed):
                continue                                   # public by the spec: nothing to refuse
            label = op.label
            stripped = credential_headers(raw, needed[0])
            case = one_valid_case(op, seed)
            if stripped is None or case is None:
                why = "its security scheme puts credentials outside the headers" if stripped is None else \
                    "no valid request can be generated for its positive control"
                out.append(Undecided(f"{label}: credentials refused", why))
                continue
            base = case.as_transport_kwargs(base_url=base_url)
            bare = {k: v for k, v in base["headers"].items() if k.lower() not in {s.lower() for s in stripped}}
            control_response, control_exchange = _send(session, {**base, "headers": {**bare, **headers}}, timeout)
            control = Fact(f"control: {label} with valid credentials is answered",
                           control_response is not None and control_response.status_code not in REFUSALS
                           and control_response.status_code < 500, "answered (not 401/403, not 5xx)",
                           control_response.status_code if control_response is not None else control_exchange,
                           exchanges=(control_exchange,) if control_response is not None else ())
            attempts = {"no credentials": bare}
            attempts.update({what: {**bare, "Authorization": f"Bearer {token}"}
                             for what, token in hostile_tokens(role, jwt_secret).items()})
            documented = [int(s) for s in op.responses.status_codes if s.isdigit() and int(s) in REFUSALS]
            for what, sent_headers in attempts.items():
                response, exchange = _send(session, {**base, "headers": sent_headers}, timeout)
                status = response.status_code if response is not None else None
                probe = Fact(f"{label} with {what} is refused", status in REFUSALS and status in documented,
                             f"the documented refusal ({', '.join(map(str, documented)) or 'none documented'})",
                             status if response is not None else exchange,
                             exchanges=(exchange,) if response is not None else ())
                out.append(controlled(probe, control))
            if roles and token_for is not None:
                out += role_rows(label, lambda extra, base=base, bare=bare: _send(session, {**base, "headers": {**bare, **extra}}, timeout),
                                 admitted(needed[0], roles), roles, token_for, documented, control)
    return out or [Undecided("protected operations", "the OpenAPI document protects no operation")]
