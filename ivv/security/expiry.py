"""Expiry: a session whose token expires must stop working on the same, still open, connection, and the
clock-skew allowance the service grants must be the one the profile states.

Whether a login with an expired token is accepted is judged the one way (`ivv.security.logins`: the
protected call after it decides), and the refusal after expiry must be the documented authentication one.
"""

from __future__ import annotations

import time

from ivv.evidence.facts import Fact, Undecided
from ivv.rpc.refusals import AUTHENTICATION
from ivv.security import logins, tokens
from ivv.security.surface import AUTH_ENFORCED, Surface
from ivv.security.wire import Transcript

EXPIRY_SECONDS = 2  # lifetime of the token used to test reuse after expiry on a long-lived connection
EXPIRY_MARGIN = 1.5  # seconds past `exp` before the reuse attempt (clock granularity of `exp` is 1 s)
LEEWAY_LADDER = (2, 5, 10, 20, 40, 80, 160, 320, 600)  # ages (s) of expired tokens tried at login
LEEWAY_CAP = 600  # an allowance this large is no expiry at all
LOGOUT_METHODS = ("logout", "sign_out", "revoke_session", "end_session")


def _accepts_expired(surface: Surface, transcript: Transcript, secret: str, seconds_ago: int) -> bool:
    """Whether a login works with a token whose `exp` passed `seconds_ago` seconds ago."""
    creds = surface.credentials
    token = creds.sign(creds.body(surface.roles[0], tokens.PROBE_USER, exp_in=-seconds_ago), key=secret)
    tried = logins.attempt(surface, transcript, token, f"expired {seconds_ago} s ago", f"expired {seconds_ago} s ago",
                           "skew")
    return tried.outcome(surface).accepted


def measure_leeway(surface: Surface, transcript: Transcript, secret: str) -> int:
    """The clock-skew allowance the service really grants on `exp` (to the second, at most LEEWAY_CAP):
    the largest age of an expired token it still accepts at login, by a ladder then bisection."""
    accepted, refused = 0, None
    for age in LEEWAY_LADDER:
        if _accepts_expired(surface, transcript, secret, age):
            accepted = age
        else:
            refused = age
            break
    if refused is None:
        return LEEWAY_CAP
    while refused - accepted > 1:
        middle = (accepted + refused) // 2
        if _accepts_expired(surface, transcript, secret, middle):
            accepted = middle
        else:
            refused = middle
    return accepted


def expiry_probe(surface: Surface, transcript: Transcript) -> Fact | Undecided:
    """A session whose token expires must stop working on the same, still open, connection.

    The service's clock-skew allowance is measured first (logins with tokens expired a few seconds to
    minutes ago) and compared with the one the profile states (`auth.jwt.leeway_s`); the long-lived
    token then expires, allowance included, a few seconds into the probe, so the wait stays short.
    """
    name = "expired session refused on a long-lived connection"
    secret = surface.credentials.jwt_secret
    method = surface.lowest_method()
    if not secret or not method:
        return Undecided(name, "no signing secret or no read-only protected method to test with",
                         criterion=AUTH_ENFORCED)
    mark = transcript.mark()
    transcript.note("probe: clock-skew allowance, then token reuse after expiry on one long-lived connection")
    measured = measure_leeway(surface, transcript, secret)
    stated = surface.leeway_s
    leeway = measured if stated is None else max(stated, measured)
    transcript.note(f"logins accepted tokens expired up to {measured} s ago"
                    + (f" (the profile states {stated:g} s)" if stated is not None else " (the profile states none)"))
    problems = []
    if stated is not None and measured > stated + 1:
        problems.append(f"tokens expired {measured} s ago are accepted; the profile states {stated:g} s")
    if measured >= LEEWAY_CAP:
        problems.append(f"tokens expired {LEEWAY_CAP} s ago are still accepted")
    body = surface.credentials.body(surface.roles[0], tokens.PROBE_USER, exp_in=EXPIRY_SECONDS - max(leeway - 1, 0))
    token = surface.credentials.sign(body, key=secret)
    transcript.describe(token, tokens.describe(token, f"usable for about {EXPIRY_SECONDS + 1} s more"))
    with surface.connect("long", transcript) as conn:
        login = conn.call(surface.auth_method, {surface.auth_param: token})
        before = conn.call(method)
        if not (login.ok and before.ok):
            return Undecided(name, f"control failed: a token inside the allowance was not accepted "
                                   f"({login.summary()}; {before.summary()})", criterion=AUTH_ENFORCED)
        time.sleep(max(0.0, body["exp"] + leeway + 1 - time.time()) + EXPIRY_MARGIN)
        transcript.note(f"token expired {time.time() - body['exp']:.1f} s ago (allowance {leeway:g} s)")
        after = conn.call(method)
    refusal = surface.refusal(AUTHENTICATION)
    if after.ok:
        problems.append(f"{method} still answered {time.time() - body['exp'] - leeway:.1f} s after the token "
                        "expired (allowance included)")
    elif not refusal.matches(after):
        problems.append(f"{method} after expiry answered {after.summary()}, not the documented {refusal.text}")
    logout = next((m for m in LOGOUT_METHODS if m in surface.contract.methods), None)
    return Fact(name, not problems,
                expected=f"{method} refused once the token has expired (plus the clock-skew allowance)",
                observed="; ".join(problems) if problems else
                f"before expiry: {before.summary()}; after expiry: {after.summary()}",
                exchanges=(transcript.render(mark),),
                details={"measured_leeway_s": measured, "stated_leeway_s": stated,
                         "logout_method": logout or "none in the contract (logout reuse not applicable)"},
                criterion=AUTH_ENFORCED)
