"""Session isolation: logging in on one connection must never change what another connection may do.

Three connections with different roles (admin, the lowest role, none) take turns, so a service that keeps
"the" session in a process-wide variable, or lets the last login win, shows it in one exchange.
"""

from __future__ import annotations

from ivv.evidence.facts import Fact, Undecided
from ivv.rpc.refusals import AUTHENTICATION, PERMISSION
from ivv.security import tokens
from ivv.security.surface import SESSION_ISOLATION, Surface
from ivv.security.wire import Transcript

NAME = "logins on one connection never reach another"


def isolation_probe(surface: Surface, transcript: Transcript) -> Fact | Undecided:
    low, top = surface.roles[0], surface.roles[-1]
    low_method = surface.lowest_method()
    top_method = surface.read_only_method(top)
    if not low_method or not top_method:
        return Undecided(NAME, "the contract has no read-only method for the lowest and the highest role",
                         criterion=SESSION_ISOLATION)
    admin_token = surface.token(top)
    low_cred = surface.credentials.api_keys.get(low) or surface.token(low)
    transcript.describe(admin_token, tokens.describe(admin_token, f"valid {top} credential"))
    transcript.describe(low_cred, tokens.describe(low_cred, f"valid {low} credential"))
    mark = transcript.mark()
    transcript.note(f"probe: session isolation ({top}, {low}, anonymous connections interleaved)")
    leaks: list[str] = []
    with surface.connect(top, transcript) as high, surface.connect(low, transcript) as mid, \
            surface.connect("anon", transcript) as anon:
        high_login = high.call(surface.auth_method, {surface.auth_param: admin_token})
        if anon.call(low_method).ok:
            leaks.append(f"anonymous connection called {low_method} after the {top} login elsewhere")
        if anon.call(top_method).ok:
            leaks.append(f"anonymous connection called {top_method} after the {top} login elsewhere")
        mid_login = mid.call(surface.auth_method, {surface.auth_param: low_cred})
        if mid.call(top_method).ok:
            leaks.append(f"{low} connection called {top} method {top_method}")
        high_after = high.call(top_method)
        if anon.call(low_method).ok:
            leaks.append(f"anonymous connection called {low_method} after the {low} login elsewhere")
        with surface.connect("late", transcript) as late:
            if late.call(low_method).ok:
                leaks.append(f"a new connection called {low_method} without logging in")
        if mid.call(top_method).ok:
            leaks.append(f"{low} connection called {top_method} after the {top} connection's call")
        sessions = {(r.frame.get("result") or {}).get("session_id") for r in (high_login, mid_login)
                    if r.ok and isinstance(r.frame.get("result"), dict)}
    if not (high_login.ok and mid_login.ok):
        return Undecided(NAME, f"control failed: valid logins were refused "
                               f"({high_login.summary()}; {mid_login.summary()})", criterion=SESSION_ISOLATION)
    if not high_after.ok:
        if not any(surface.refusal(reason).matches(high_after) for reason in (AUTHENTICATION, PERMISSION)):
            return Undecided(NAME, f"control failed: the {top} connection's own call was not answered "
                                   f"({high_after.summary()})", criterion=SESSION_ISOLATION)
        leaks.append(f"the {top} connection lost its role after the {low} login elsewhere: "
                     f"{high_after.summary()}")
    if None not in sessions and len(sessions) < 2:
        leaks.append("both connections were given the same session_id")
    return Fact(NAME, not leaks, expected=f"anonymous calls refused, {low} refused {top_method}, {top} keeps its role",
                observed="; ".join(leaks) if leaks else "every connection kept exactly its own role",
                exchanges=(transcript.render(mark),), details={"leaks": leaks}, criterion=SESSION_ISOLATION)
