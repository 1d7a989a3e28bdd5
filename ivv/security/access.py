"""Access to protected methods: a connection that never logged in, and a role below the one a method
needs. Every call carries valid params (real values the service returned), so the refusal can only be
about who calls; it must be the documented refusal for that reason (authentication, permission), and the
same calls must be answered where they are allowed (the positive control), or the refusals prove nothing.
"""

from __future__ import annotations

from ivv.contract.params import undo_calls
from ivv.evidence.facts import Fact, Undecided, controlled, observed
from ivv.rpc.refusals import AUTHENTICATION, PERMISSION
from ivv.security import tokens
from ivv.security.surface import AUTH_ENFORCED, Surface
from ivv.security.wire import Transcript

UNAUTHENTICATED = "protected methods refuse an unauthenticated session"


def unauthenticated_probe(surface: Surface, transcript: Transcript) -> Fact | Undecided:
    """Every protected method called with valid params on a connection that never logged in; then the
    same connection logs in as the top role and the same calls must not be refused (control)."""
    methods = surface.protected_methods()
    none = observed(UNAUTHENTICATED, len(methods), criterion=AUTH_ENFORCED, what="protected methods")
    if none is not None:
        return none
    refusal = surface.refusal(AUTHENTICATION)
    if not refusal.documented:
        return Undecided(UNAUTHENTICATED, "the contract documents no authentication refusal", criterion=AUTH_ENFORCED)
    params = {m: surface.valid_params(m) for m in methods}
    top = surface.roles[-1]
    token = surface.token(top)
    transcript.describe(token, tokens.describe(token, f"valid {top} credential"))
    mark = transcript.mark()
    transcript.note("probe: every protected method with valid params, without logging in, then logged in")
    rows, wrong, refused_after = [], [], []
    with surface.connect("anon", transcript) as conn:
        before = {m: conn.call(m, params[m]) for m in methods}
        login = conn.call(surface.auth_method, {surface.auth_param: token})
        after = {m: conn.call(m, params[m]) for m in methods}
        for method, undo in undo_calls(surface.contract, surface.probe.observed):
            conn.call(method, undo)  # stop what the control started
    for m in methods:
        ok, seen = refusal.judge(before[m])
        again = "refused" if refusal.matches(after[m]) or surface.refusal(PERMISSION).matches(after[m]) else "answered"
        outcome = "refused" if ok else ("ANSWERED" if before[m].ok else "not the documented refusal")
        rows.append([m, surface.contract.least_role(m) or "-", before[m].summary(), outcome, f"{again} after login"])
        if not ok:
            wrong.append(f"{m}: {seen}")
        if again == "refused":
            refused_after.append(m)
    table = {"title": "protected methods called without logging in, then logged in as " + top,
             "columns": ["method", "role needed", "reply", "outcome", "control"], "rows": rows}
    exchange = transcript.render(mark)
    probe = Fact(UNAUTHENTICATED, not wrong, expected=f"{refusal.text} for every protected method",
                 observed="; ".join(wrong) if wrong else f"all {len(methods)} refused as documented",
                 exchanges=(exchange,), details={"table": table, "accepted": any(r.ok for r in before.values())},
                 criterion=AUTH_ENFORCED)
    control = Fact("the same calls are answered once logged in (control)", login.ok and not refused_after,
                   expected=f"login as {top}, then no call refused",
                   observed=f"login: {login.summary()}" + (f"; still refused: {refused_after}" if refused_after else ""),
                   criterion=AUTH_ENFORCED)
    return probe if probe.details["accepted"] else controlled(probe, control)


def privilege_probes(surface: Surface, transcript: Transcript) -> list[Fact | Undecided]:
    """A lower role's token and API key used on each higher role's read-only method: the documented
    permission refusal, while the higher role itself is answered on the same method (control)."""
    out: list[Fact | Undecided] = []
    roles = surface.roles
    refusal = surface.refusal(PERMISSION)
    for i, low in enumerate(roles[:-1]):
        targets = [(high, surface.read_only_method(high)) for high in roles[i + 1:]]
        targets = [(h, m) for h, m in targets if m]
        if not targets:
            continue
        creds = [(f"{low} token", f"valid {low} token", surface.token(low))]
        if surface.credentials.api_keys.get(low):
            creds.append((f"{low} API key", f"valid {low} API key", surface.credentials.api_keys[low]))
        for what, label, credential in creds:
            name = f"{what} kept to its role"
            if not refusal.documented:
                out.append(Undecided(name, "the contract documents no permission refusal", criterion=AUTH_ENFORCED))
                continue
            transcript.describe(credential, tokens.describe(credential, label))
            mark = transcript.mark()
            transcript.note(f"probe: {what} on higher-role methods, then each method by its own role")
            with surface.connect(low, transcript) as conn:
                login = conn.call(surface.auth_method, {surface.auth_param: credential})
                replies = {m: conn.call(m) for _, m in targets}
            answered = {}
            for high, method in targets:
                with surface.connect(high, transcript) as conn:
                    conn.call(surface.auth_method, {surface.auth_param: surface.token(high)})
                    answered[method] = conn.call(method).ok
            exchange = transcript.render(mark)
            judged = {m: refusal.judge(r) for m, r in replies.items()}
            leaked = [m for m, r in replies.items() if r.ok]
            probe = Fact(name, all(ok for ok, _ in judged.values()),
                         expected=f"{refusal.text} for " + ", ".join(f"{m} ({h})" for h, m in targets),
                         observed="; ".join(f"{m}: {seen}" for m, (_, seen) in judged.items()),
                         exchanges=(exchange,), details={"answered": leaked, "accepted": bool(leaked)},
                         criterion=AUTH_ENFORCED)
            control = Fact(f"{what}: login and the higher roles answered (control)",
                           login.ok and all(answered.values()), expected=f"login as {low} works; each method "
                           "answers its own role", observed=f"login: {login.summary()}; answered by their role: "
                           f"{answered}", criterion=AUTH_ENFORCED)
            out.append(probe if leaked else controlled(probe, control))
    return out
