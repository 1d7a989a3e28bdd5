"""One login, judged the one way (`ivv.rpc.refusals.judge_login`): log in on a fresh connection, then
call the cheapest protected method on it, and once more with the credential inside the call's params.

A credential that must be refused is refused only when that protected call stays refused with the
documented authentication refusal; a failed login answered with a result is still a refusal then, but a
FAIL of its own ("failed login answered as a success result"). A credential that must work is the
positive control: the same call answers with a result, or the refusals beside it prove nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivv.evidence.facts import Fact, Undecided
from ivv.rpc.client import Reply
from ivv.rpc.refusals import AUTHENTICATION, LoginOutcome, judge_login
from ivv.security import tokens
from ivv.security.surface import Surface
from ivv.security.wire import Transcript

SUCCESS_SHAPED = "failed login answered as a success result"


@dataclass(frozen=True)
class Attempt:
    login: Reply
    after: Reply
    inline: Reply
    method: str
    exchange: str

    def outcome(self, surface: Surface) -> LoginOutcome:
        return judge_login(surface.refusal(AUTHENTICATION), self.login, self.after, self.method)


def attempt(surface: Surface, transcript: Transcript, credential: str, label: str, note: str,
            connection: str = "probe") -> Attempt:
    """Log in with `credential` (described in the transcript as `label`), then call the cheapest protected
    method, plain and with the credential inline."""
    method = surface.lowest_method()
    transcript.describe(credential, tokens.describe(credential, label))
    mark = transcript.mark()
    transcript.note(f"probe: {note}")
    with surface.connect(connection, transcript) as conn:
        login = conn.call(surface.auth_method, {surface.auth_param: credential})
        after = conn.call(method)
        inline = conn.call(method, {surface.auth_param: credential})
    return Attempt(login, after, inline, method, transcript.render(mark))


def no_protected_method(name: str, criterion: str) -> Undecided:
    return Undecided(name, "the contract has no protected read-only method, so no refusal can be observed",
                     criterion=criterion)


def refused(surface: Surface, transcript: Transcript, criterion: str, name: str, label: str,
            credential: str) -> list[Fact | Undecided]:
    """A credential that must be refused: the probe's fact, plus its own FAIL when the refusal came
    shaped as a success."""
    if surface.lowest_method() is None:
        return [no_protected_method(name, criterion)]
    tried = attempt(surface, transcript, credential, label, name)
    outcome = tried.outcome(surface)
    refusal = surface.refusal(AUTHENTICATION)
    inline_ok, inline_seen = refusal.judge(tried.inline)
    if tried.login.lost and refusal.matches(tried.login):  # the documented close: nothing more to call
        inline_ok = True
    problems = list(outcome.problems) + ([] if inline_ok else [f"{tried.method} with the credential inline: "
                                                                f"{inline_seen}"])
    passed = outcome.refused and not problems
    out: list[Fact | Undecided] = [Fact(
        name, passed, expected=f"{refusal.text}; {tried.method} stays refused on that connection",
        observed=("ACCEPTED: " if outcome.accepted else "") + "; ".join(problems or [outcome.observed]),
        exchanges=(tried.exchange,), details={"accepted": outcome.accepted or tried.inline.ok},
        criterion=criterion)]
    if outcome.success_shaped and outcome.refused:
        out.append(success_shaped(name, outcome.observed, tried.exchange, criterion))
    return out


def success_shaped(name: str, observed: str, exchange: str, criterion: str) -> Fact:
    return Fact(f"{name}: {SUCCESS_SHAPED}", False, expected="an error for a failed login",
                observed=observed, exchanges=(exchange,), criterion=criterion)


def accepted(surface: Surface, transcript: Transcript, criterion: str, name: str, label: str,
             credential: str) -> Fact:
    """The positive control: a credential that must work opens a session the protected call answers on."""
    if surface.lowest_method() is None:
        return Fact(name, False, "a session", "the contract has no protected read-only method", criterion=criterion)
    tried = attempt(surface, transcript, credential, label, name, connection="control")
    works = tried.login.ok and tried.after.ok
    return Fact(name, works, expected=f"login accepted and {tried.method} answered",
                observed=f"login: {tried.login.summary()}; {tried.method}: {tried.after.summary()}",
                exchanges=(tried.exchange,), criterion=criterion)
