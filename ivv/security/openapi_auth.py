"""The auth matrix over HTTP (`security.auth_enforced`): every operation the OpenAPI document protects x
{no credentials, a forged token, an alg-none token, an expired token when the stack's signing secret is
known} and x {a forged API key, the revoked API key} in each place the spec's API key schemes name (header,
query or cookie), each of which must get the documented refusal (401 or 403, and a status the spec
documents for the operation), never an answer; and x each role, by token and by API key, when credentials
of every role are known: a role below the operation's least role must get the documented 403, a role at or
above it an answer.

Roles: a security requirement's list names the least role (OpenAPI 3.1 lets a non-OAuth scheme list role
names; ivv reads it in 3.0 documents too); the ranks are the profile's `auth.roles`, lowest first. A
requirement listing no role admits every role.

Each row has its positive control: the same request (one valid request schemathesis generates for the
operation, stripped of every credential it generated) with a valid credential in the same place must be
answered (not 401/403, not 5xx), else the row proves nothing and is `Undecided`. Which operations are
protected, and where their credentials go, comes from the spec's `security` (operation level over document
level; its alternatives each get their rows) and `components.securitySchemes`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

import requests

from ivv.contract.http_compliance import one_valid_case
from ivv.contract.openapi import operations, send
from ivv.evidence.facts import Fact, Undecided, controlled
from ivv.rpc.auth import claims, sign
from ivv.security.tokens import PROBE_USER

CRITERION = "security.auth_enforced"
REFUSALS = (401, 403)
SLOTS = {"header": "headers", "query": "params", "cookie": "cookies"}   # a place -> its requests argument


@dataclass(frozen=True)
class Place:
    """Where one security scheme puts its credential: a bearer token (HTTP bearer, OAuth2, OpenID Connect)
    in the Authorization header, or an API key in a header, a query parameter or a cookie."""

    scheme: str
    where: str
    name: str
    bearer: bool

    @property
    def text(self) -> str:
        return f"{self.where} {self.name}"

    def put(self, kwargs: dict, value: str) -> dict:
        """The request `kwargs` with `value` in this place."""
        slot = SLOTS[self.where]
        sent = f"Bearer {value}" if self.bearer else value
        return {**kwargs, slot: {**(kwargs.get(slot) or {}), self.name: sent}}


def requirements(raw: dict, operation) -> list[dict]:
    """The operation's security requirements ([] or [{}] in the list: it is public)."""
    found = operation.definition.raw.get("security", raw.get("security", []))
    return list(found or [])


def place_of(raw: dict, name: str) -> Place | str:
    """Where scheme `name` puts its credential, or why ivv cannot present it."""
    scheme = ((raw.get("components") or {}).get("securitySchemes") or {}).get(name)
    if scheme is None:
        return f"its security scheme {name!r} is not in components.securitySchemes"
    kind = scheme.get("type")
    if kind in ("oauth2", "openIdConnect") or (kind == "http" and str(scheme.get("scheme", "")).lower() == "bearer"):
        return Place(name, "header", "Authorization", True)
    if kind == "apiKey" and scheme.get("in") in SLOTS and scheme.get("name"):
        return Place(name, scheme["in"], scheme["name"], False)
    how = scheme.get("scheme") or scheme.get("in") or ""
    return f"its security scheme {name!r} ({kind} {how}".rstrip() + ") is not one ivv can present"


def stripped(kwargs: dict, places) -> dict:
    """The request `kwargs` without any credential in `places` (schemathesis generates values for them)."""
    out = dict(kwargs)
    for where, slot in SLOTS.items():
        names = {p.name.lower() for p in places if p.where == where}
        if names and out.get(slot):
            out[slot] = {k: v for k, v in dict(out[slot]).items() if k.lower() not in names}
    return out


def admitted(requirement: dict, roles: tuple[str, ...]) -> set[str]:
    """The roles of `roles` (lowest first) a requirement admits: its least listed role and every one above."""
    named = [r for names in requirement.values() for r in (names or [])]
    ranked = [roles.index(r) for r in named if r in roles]
    if not named:
        return set(roles)
    return set(roles[min(ranked):]) if ranked else set(named) & set(roles)


def answered(name: str, response, exchange, **details) -> Fact:
    """A request that must be answered (not refused, not a server error)."""
    status = response.status_code if response is not None else None
    return Fact(name, status is not None and status not in REFUSALS and status < 500, "answered (not 401/403, not 5xx)",
                status if response is not None else exchange, exchanges=(exchange,) if response is not None else (),
                details=details)


def refused(name: str, response, exchange, documented: list[int], only_403: bool = False, **details) -> Fact:
    """A request that must get the documented refusal (only 403: a valid credential of a role too low)."""
    status = response.status_code if response is not None else None
    wanted = [s for s in documented if s == 403] if only_403 else documented
    expected = (f"the documented refusal ({', '.join(map(str, wanted))})" if wanted else
                "403, documented (it is not)" if only_403 else "the documented refusal (none documented)")
    return Fact(name, status in wanted, expected, status if response is not None else exchange,
                exchanges=(exchange,) if response is not None else (), details=details)


def role_rows(label: str, send, admits: set[str], roles: tuple[str, ...], documented: list[int], control: Fact,
              named: Callable[[str], str] = lambda role: f"as {role}") -> list[Fact | Undecided]:
    """One row per role: refused with the documented 403 below the least role (under the control), answered
    at or above it. `send(role)` is the request with that role's credential (None: ivv has none)."""
    out: list[Fact | Undecided] = []
    for role in roles:
        sent = send(role)
        if sent is None:
            out.append(Undecided(f"{label} {named(role)}", f"no {role} credential of this kind is known"))
        elif role in admits:
            out.append(answered(f"{label} {named(role)} is answered", *sent, role=role))
        else:
            out.append(controlled(refused(f"{label} {named(role)} is refused", *sent, documented, only_403=True,
                                          role=role), control))
    return out


def hostile_tokens(role: str, jwt_secret: str | None) -> dict[str, str]:
    """Bearer tokens that must all be refused, by what is wrong with them."""
    body = claims(role, PROBE_USER)
    out = {"a forged token (random key)": sign(body, secrets.token_hex(16)),
           "an alg-none token": sign(body, "", "none")}
    if jwt_secret:
        out["an expired token"] = sign(claims(role, PROBE_USER, exp_in=-3600), jwt_secret)
    return out


@dataclass
class Presenter:
    """The valid and hostile credentials the matrix presents, and how it sends a request."""

    session: requests.Session
    base_url: str
    headers: dict
    timeout: float
    jwt_secret: str | None = None
    role: str = "admin"
    roles: tuple[str, ...] = ()
    token_for: Callable[[str], str] | None = None
    key_for: Callable[[str], str | None] = lambda _role: None
    revoked_key: str | None = None

    def send(self, kwargs: dict):
        return send(self.session, kwargs, self.timeout)

    def bearer_rows(self, label: str, base: dict, place: Place, requirement: dict, documented: list[int]):
        """The control (the valid `headers`), then the hostile tokens and the roles."""
        control = answered(f"control: {label} with valid credentials is answered",
                           *self.send({**base, "headers": {**base["headers"], **self.headers}}))
        rows = [controlled(refused(f"{label} with {what} is refused", *self.send(place.put(base, token)), documented),
                           control) for what, token in hostile_tokens(self.role, self.jwt_secret).items()]
        if self.roles and self.token_for is not None:
            rows += role_rows(label, lambda role: self.send(place.put(base, self.token_for(role))),
                              admitted(requirement, self.roles), self.roles, documented, control)
        return control, rows

    def key_rows(self, label: str, base: dict, place: Place, requirement: dict, documented: list[int]):
        """The control (the key of the highest admitted role), then a forged, the revoked and each role's key."""
        roles = self.roles or (self.role,)
        admits = admitted(requirement, self.roles) if self.roles else {self.role}    # no ranks known: trust `role`
        best = next((r for r in reversed(roles) if r in admits and self.key_for(r)), None)
        if best is None:
            why = "no valid API key of the stack is known for a role it admits (the profile's auth.credentials " \
                  "mints or names none), so there is no positive control"
            return Undecided(f"control: {label} with a valid API key ({place.text}) is answered", why), \
                [Undecided(f"{label} with API keys ({place.text}) refused", why)]
        control = answered(f"control: {label} with the {best} API key ({place.text}) is answered",
                           *self.send(place.put(base, self.key_for(best))))
        hostile = {"a forged API key": secrets.token_urlsafe(24)}
        if self.revoked_key:
            hostile["the revoked API key"] = self.revoked_key
        rows = [controlled(refused(f"{label} with {what} ({place.text}) is refused", *self.send(place.put(base, key)),
                                   documented), control) for what, key in hostile.items()]
        if self.roles:
            rows += role_rows(label, lambda role: self.send(place.put(base, self.key_for(role)))
                              if self.key_for(role) else None, admits, self.roles, documented, control,
                              named=lambda role: f"with the {role} API key ({place.text})")
        return control, rows


def operation_rows(presenter: Presenter, raw: dict, op, needed: list[dict], seed: int) -> list[Fact | Undecided]:
    """The rows of one protected operation: no credentials, then each alternative of its requirements."""
    label = op.label
    alternatives = [[place_of(raw, name) for name in requirement] for requirement in needed]
    unknown = [p for alternative in alternatives for p in alternative if isinstance(p, str)]
    case = None if unknown else one_valid_case(op, seed)
    if unknown or case is None:
        why = unknown[0] if unknown else "no valid request can be generated for its positive control"
        return [Undecided(f"{label}: credentials refused", why)]
    base = stripped(case.as_transport_kwargs(base_url=presenter.base_url), [p for a in alternatives for p in a])
    base.setdefault("headers", {})
    documented = [int(s) for s in op.responses.status_codes if s.isdigit() and int(s) in REFUSALS]
    controls, rows, seen = [], [], set()
    for requirement, alternative in zip(needed, alternatives, strict=True):
        if len(alternative) != 1:
            rows.append(Undecided(f"{label} with {' and '.join(p.scheme for p in alternative)}: credentials refused",
                                  "a requirement of several schemes at once: ivv presents one credential at a time"))
            continue
        place = alternative[0]
        if place in seen:
            continue
        seen.add(place)
        build = presenter.bearer_rows if place.bearer else presenter.key_rows
        control, found = build(label, base, place, requirement, documented)
        controls.append(control)
        rows += found
    facts = [c for c in controls if isinstance(c, Fact)]      # the bare request's control: one that answered
    decided = next((c for c in facts if c.passed), facts[0] if facts else controls[0] if controls else
                   Undecided("control", "no requirement ivv can present"))
    bare = controlled(refused(f"{label} with no credentials is refused", *presenter.send(base), documented), decided)
    return [bare, *rows]


def auth_matrix(spec, base_url: str, headers: dict, jwt_secret: str | None = None, role: str = "admin",
                timeout: float = 10.0, seed: int = 0, roles: tuple[str, ...] = (),
                token_for: Callable[[str], str] | None = None, key_for: Callable[[str], str | None] | None = None,
                revoked_key: str | None = None, verify: bool | str = True) -> list[Fact | Undecided]:
    """One row per protected operation and hostile credential, and per role when `token_for(role)` and
    `key_for(role)` give a valid token or API key of each of `roles` (lowest first); `headers` hold the
    valid bearer credentials, `revoked_key` an API key the stack has revoked; `verify` as requests takes it."""
    ops = operations(spec)
    raw = ops[0].schema.raw_schema if ops else {}
    out: list[Fact | Undecided] = []
    with requests.Session() as session:
        session.verify = verify
        presenter = Presenter(session, base_url, headers, timeout, jwt_secret, role, roles, token_for,
                              key_for or (lambda _role: None), revoked_key)
        for op in ops:
            needed = requirements(raw, op)
            if not needed or any(req == {} for req in needed):
                continue                                   # public by the spec: nothing to refuse
            out += operation_rows(presenter, raw, op, needed, seed)
    return out or [Undecided("protected operations", "the OpenAPI document protects no operation")]
