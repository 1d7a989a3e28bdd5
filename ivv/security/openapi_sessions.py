"""Session isolation over HTTP (`security.session_isolation`): a credential one client sends must never
change what another client, or the next request on the same keep-alive connection, may do.

Over HTTP a session is the credential each request carries (and the cookies of the client it was sent
by), so three clients take turns, each with its own connection pool and cookie jar (`requests.Session`):
one with a bearer token of the highest role, one with the lowest role's, one with none, and a late one.
A service that keeps "the" login in a process-wide variable, lets the last token win, or remembers a
token per keep-alive connection answers one of them where it must refuse. The JSON-RPC counterpart is
`ivv.security.sessions` (connections that log in).

The requests are one valid request per operation (schemathesis, stripped of its credentials, as in the
auth matrix). The positive controls: before any token is sent, a fresh client's bare request is refused
(401/403: the operation is protected at all) and the lowest role's token on an operation above it is
refused (else the role checks are left out, noted); the highest role's requests and the lowest role's own
are answered (not 401/403, not 5xx). A leak is an answer where a refusal was due.
"""

from __future__ import annotations

from collections.abc import Callable

import requests

from ivv.contract.http_compliance import one_valid_case
from ivv.contract.openapi import operations, send
from ivv.evidence.facts import Fact, Undecided
from ivv.security.openapi_auth import REFUSALS, admitted, place_of, requirements, stripped

CRITERION = "security.session_isolation"
NAME = "a credential sent by one client never reaches another (HTTP)"


def _bearer_ops(spec, base_url: str) -> list[tuple[object, list[dict], dict]]:
    """(operation, its bearer requirements, a valid request without credentials) of each protected
    operation a bearer token can open, GETs without path parameters first (no side effect, no id)."""
    ops = operations(spec)
    raw = ops[0].schema.raw_schema if ops else {}
    out = []
    for op in ops:
        needed = requirements(raw, op)
        if not needed or any(req == {} for req in needed):
            continue
        places = [place_of(raw, name) for req in needed for name in req]
        bearer = [req for req in needed if len(req) == 1 and getattr(place_of(raw, next(iter(req))), "bearer", False)]
        case = one_valid_case(op, 0) if bearer else None
        if case is None:
            continue
        kwargs = stripped(case.as_transport_kwargs(base_url=base_url), [p for p in places if not isinstance(p, str)])
        kwargs.setdefault("headers", {})
        out.append((op, bearer, kwargs))
    return sorted(out, key=lambda found: (found[0].method.upper() != "GET", "{" in found[0].path))


def _admits(bearer: list[dict], role: str, roles: tuple[str, ...]) -> bool:
    return any(role in admitted(req, roles) for req in bearer)


def isolation_probe(spec, base_url: str, roles: tuple[str, ...], token_for: Callable[[str], str],
                    timeout: float = 10.0, verify: bool | str = True) -> Fact | Undecided:
    """The clients' turns (module docstring); one Fact with every exchange, or Undecided naming what is
    missing or which control failed. `verify`: requests' TLS verification (True, False or a CA file)."""
    if not roles:
        return Undecided(NAME, "the profile names no role (auth.roles)", criterion=CRITERION)
    low, top = roles[0], roles[-1]
    found = _bearer_ops(spec, base_url)
    exchanges: list[dict] = []
    leaks: list[str] = []
    notes: list[str] = []

    def request(client: requests.Session, target, token: str | None):
        op, _bearer, kwargs = target
        headers = {**kwargs["headers"], **({"Authorization": f"Bearer {token}"} if token else {})}
        response, exchange = send(client, {**kwargs, "headers": headers}, timeout)
        exchanges.append(exchange)
        return op.label, (response.status_code if response is not None else None)

    def must_refuse(client, target, token, what: str) -> None:
        label, status = request(client, target, token)
        if answered(status):
            leaks.append(f"{label} {what} was answered {status}")

    admin_token, low_token = token_for(top), token_for(low)
    with requests.Session() as high, requests.Session() as mid, requests.Session() as anon:
        for client in (high, mid, anon):
            client.verify = verify
        # controls before any token: the operation is refused without one (and the top one to the low role)
        low_op = next((f for f in found if _admits(f[1], low, roles) and request(anon, f, None)[1] in REFUSALS), None)
        if low_op is None:
            return Undecided(NAME, f"no operation a {low} bearer token may call refuses a request without "
                                   "credentials (security.auth_enforced judges that), so no refusal can show a leak",
                             {"exchanges": exchanges}, CRITERION)
        top_ops = [f for f in found if _admits(f[1], top, roles) and not _admits(f[1], low, roles)]
        top_op = next((f for f in top_ops if request(mid, f, low_token)[1] in REFUSALS), None)
        if top_ops and top_op is None:
            notes.append(f"no role check: no operation above {low} refused the {low} token before any other "
                         "token was sent (security.auth_enforced judges that)")
        elif not top_ops:
            notes.append(f"no role check: no operation refuses {low}")
        controls = [request(mid, low_op, low_token), request(high, low_op, admin_token)]
        controls += [request(high, top_op, admin_token)] if top_op else []
        must_refuse(anon, low_op, None, f"with no credentials, after the {top} token on another client")
        must_refuse(high, low_op, None, f"with no credentials on the {top} client's keep-alive connection")
        if top_op:
            must_refuse(mid, top_op, low_token, f"as {low}, after the {top} token on another client")
            label, after = request(high, top_op, admin_token)
            if after in REFUSALS:
                leaks.append(f"{label} as {top} was refused {after} after the {low} token on another client")
            elif not answered(after):
                controls.append((label, after))
            must_refuse(high, top_op, None, f"with no credentials on the {top} client, after the {low} token elsewhere")
        mid_label, mid_status = request(mid, low_op, low_token)
        controls.append((mid_label, mid_status))
        must_refuse(anon, low_op, None, f"with no credentials, after the {low} token on another client")
        with requests.Session() as late:
            late.verify = verify
            must_refuse(late, low_op, None, "with no credentials on a new client")
    failed = [(label, status) for label, status in controls if not answered(status)]
    if failed:
        return Undecided(NAME, "control failed: a valid token's request was not answered ("
                         + "; ".join(f"{label}: {status}" for label, status in failed) + ")",
                         {"exchanges": exchanges}, CRITERION)
    expected = f"every request without the right credential refused ({top}, {low} and no token taking turns)"
    return Fact(NAME, not leaks, expected, leaks or f"no leak in {len(exchanges)} requests", exchanges=tuple(exchanges),
                details={"notes": notes} if notes else {}, criterion=CRITERION)


def answered(status: int | None) -> bool:
    """Answered as a request its credential allows: not refused (401/403), not a server error. A bare
    request refused before any token was sent, then answered (even 404: it got past the credential
    check), was let through by what another request sent."""
    return status is not None and status not in REFUSALS and status < 500
