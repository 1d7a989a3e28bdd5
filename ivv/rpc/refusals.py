"""Refusals by meaning: a service refuses for a reason (authentication, permission, rate, size), and each
reason has one documented refusal; only that one counts as the refusal.

Any error is not a refusal: a call without params answered -32602 says nothing about authentication,
and a failed login answered with a result object is not an acceptance. So each probe names the reason
it expects and `Refusal.matches` says whether a reply is the documented refusal for it. The codes come
from the contract's error list (`components.errors`, `x-error-codes`, method errors), found by the words
of their messages; a code the profile names (`rpc.rate_limit.error_code`) is added where the contract has
none. The transport's own refusals stand beside them: WebSocket close 1008 (policy) for authentication
and permission, 1009 (message too big, RFC 6455 section 7.4.1) for size; the same reasons map to HTTP
401/403/429/413, so another protocol can take the table over.

`judge_login` is the one rule for a login that must fail: the protected call made afterwards on the
same connection (with valid params) decides, a success-shaped refusal is a refusal with a fault of its
own, and an error that is not the documented refusal is not one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ivv.rpc.client import Reply

AUTHENTICATION, PERMISSION, RATE, SIZE = "authentication", "permission", "rate", "size"
# Words of an error message that say its reason (lower case; any one of them).
MEANINGS: dict[str, tuple[str, ...]] = {
    AUTHENTICATION: ("authentication", "unauthenticated", "unauthorized", "not authenticated", "token", "login",
                     "credential"),
    PERMISSION: ("permission", "forbidden", "not allowed", "access denied", "privilege"),
    RATE: ("rate limit", "rate-limit", "too many", "throttl"),
    SIZE: ("too large", "too big", "message size", "request size", "payload"),
}
WEBSOCKET_CLOSE = {AUTHENTICATION: (1008,), PERMISSION: (1008,), RATE: (1008, 1013), SIZE: (1009,)}
HTTP_STATUS = {AUTHENTICATION: 401, PERMISSION: 403, RATE: 429, SIZE: 413}


@dataclass(frozen=True)
class Refusal:
    """The documented refusal for one reason: JSON-RPC error codes, WebSocket close codes, HTTP status."""

    reason: str
    codes: frozenset[int]
    close_codes: frozenset[int]
    http_status: int
    source: str  # where the codes were found, for the report

    @property
    def documented(self) -> bool:
        """Whether anything names a JSON-RPC code for this reason (the close codes are the transport's)."""
        return bool(self.codes)

    def matches(self, reply: Reply) -> bool:
        if reply.error_code is not None:
            return reply.error_code in self.codes
        return reply.lost and reply.close_code in self.close_codes

    @property
    def text(self) -> str:
        shown = [f"error {c}" for c in sorted(self.codes)] + [f"WebSocket close {c}" for c in sorted(self.close_codes)]
        return f"{self.reason} refusal ({' or '.join(shown)}; {self.source})"

    def judge(self, reply: Reply) -> tuple[bool, str]:
        """(whether `reply` is this refusal, what it was)."""
        if self.matches(reply):
            return True, f"refused: {reply.summary()}"
        if reply.ok:
            return False, f"SUCCEEDED: {reply.summary()}"
        return False, f"{reply.summary()}, not the documented {self.text}"


def refusals(error_codes: Mapping[int, str], profile_codes: Mapping[str, int | None] | None = None) -> dict[str, Refusal]:
    """The documented refusal of every reason, from a contract's error list (code -> message) and the codes
    a profile names per reason (e.g. {"rate": -32002})."""
    out = {}
    for reason, words in MEANINGS.items():
        codes = {code for code, message in error_codes.items() if any(w in str(message).lower() for w in words)}
        source = "the contract's error list" if codes else ""
        extra = (profile_codes or {}).get(reason)
        if extra is not None and extra not in codes:
            codes.add(extra)
            source = (source + " and " if source else "") + "the profile"
        out[reason] = Refusal(reason, frozenset(codes), frozenset(WEBSOCKET_CLOSE[reason]), HTTP_STATUS[reason],
                              source or "no JSON-RPC code documented")
    return out


@dataclass(frozen=True)
class LoginOutcome:
    """What a login that had to fail came to: `accepted` (the protected call after it answered), `refused`
    (it stayed refused as documented), `success_shaped` (the login itself answered with a result) and the
    other ways the refusal was not the documented one (`problems`)."""

    accepted: bool
    refused: bool
    success_shaped: bool
    problems: tuple[str, ...]
    observed: str


def judge_login(refusal: Refusal, login: Reply, after: Reply, method: str) -> LoginOutcome:
    """A login that must be refused, and `method` called after it on the same connection (valid params)."""
    seen = f"login: {login.summary()}; {method} after it: {after.summary()}"
    if login.lost and refusal.matches(login):  # the documented close: the connection itself was the refusal
        return LoginOutcome(False, True, False, (), seen)
    if after.ok:
        return LoginOutcome(True, False, login.ok, (), seen)
    problems = []
    after_refused = refusal.matches(after)
    if not after_refused:
        problems.append(f"{method} after it answered {after.summary()}, not the documented {refusal.text}")
    if not login.ok and not refusal.matches(login):
        problems.append(f"the login answered {login.summary()}, not the documented {refusal.text}")
    return LoginOutcome(False, after_refused, login.ok, tuple(problems), seen)
