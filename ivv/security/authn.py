"""Authentication probes: every way in that must stay shut, tried from a fresh connection each time.

A refusal is an error reply (or the server closing the connection); a timeout is not a refusal, and a
`result` is always a FAIL. After each refused login the same connection tries a protected call, because
a service that answers "error" but still marks the session authenticated is as open as one that says yes.
"""

from __future__ import annotations

import random
import re
import string
import time

from ivv.evidence.facts import Fact, Undecided
from ivv.rpc.auth import register_secret
from ivv.rpc.client import Reply
from ivv.security import tokens
from ivv.security.surface import AUTH_ENFORCED, NO_DEFAULT_CREDENTIALS, Surface
from ivv.security.wire import Transcript

EXPIRY_SECONDS = 2  # lifetime of the token used to test reuse after expiry on a long-lived connection
EXPIRY_MARGIN = 1.5  # seconds past `exp` before the reuse attempt (clock granularity of `exp` is 1 s)
LEEWAY_LADDER = (2, 5, 10, 20, 40, 80, 160, 320, 600)  # ages (s) of expired tokens tried at login
LEEWAY_CAP = 600  # an allowance this large is no expiry at all
LOGOUT_METHODS = ("logout", "sign_out", "revoke_session", "end_session")


def refused(reply: Reply) -> bool:
    return reply.error is not None or reply.lost


def lookalike(key: str, rng: random.Random | None = None) -> str:
    """A random key with the same length and character classes as `key` (separators kept in place)."""
    rng = rng or random.SystemRandom()
    prefix = re.match(r"^[A-Za-z]{2,8}[_-]", key)  # a scheme prefix such as "csk_" is part of the format
    keep = prefix.end() if prefix else 0
    out = [key[:keep]]
    for ch in key[keep:]:
        if ch in string.digits:
            out.append(rng.choice(string.digits))
        elif ch in "abcdef" and all(c in string.hexdigits for c in key.replace("-", "").replace("_", "")):
            out.append(rng.choice("0123456789abcdef"))
        elif ch in string.ascii_lowercase:
            out.append(rng.choice(string.ascii_lowercase))
        elif ch in string.ascii_uppercase:
            out.append(rng.choice(string.ascii_uppercase))
        else:
            out.append(ch)
    forged = "".join(out)
    return forged if forged != key else lookalike(key, rng)


def try_credential(surface: Surface, transcript: Transcript, criterion: str, name: str, label: str,
                   credential: str) -> Fact:
    """Log in with a credential that must be refused, then try to use the session anyway."""
    follow = surface.lowest_method() or "ping"
    transcript.describe(credential, tokens.describe(credential, label))
    mark = transcript.mark()
    transcript.note(f"probe: {name}")
    with surface.connect("probe", transcript) as conn:
        login = conn.call(surface.auth_method, {surface.auth_param: credential})
        after = conn.call(follow)
        inline = conn.call(follow, {surface.auth_param: credential})
    passed = refused(login) and not after.ok and not inline.ok
    return Fact(name, passed,
                expected=f"{surface.auth_method} answers an error; {follow} stays refused on that connection",
                observed=(f"{surface.auth_method}: {login.summary()}; {follow} after it: {after.summary()}; "
                          f"{follow} with the credential inline: {inline.summary()}"),
                exchanges=(transcript.render(mark),), criterion=criterion)


def bad_tokens(surface: Surface) -> list[tuple[str, str, str]]:
    """(finding name, transcript label, token) for every malformed or untrustworthy JWT."""
    creds = surface.credentials
    top = surface.roles[-1]
    viewer_token = creds.token(surface.roles[0])
    tampered = tokens.tamper_claims(viewer_token, **{creds.claims[1]: top})
    register_secret(tampered)
    return [
        ("expired token refused", "expired an hour ago, signed with the configured secret", creds.expired(top)),
        ("not-yet-valid token refused", "nbf an hour ahead, signed with the configured secret",
         creds.not_yet_valid(top)),
        ("wrong-signature token refused", "signed with a random key", creds.forged(top)),
        ("alg none token refused", "unsigned (alg none)", creds.alg_none(top)),
        ("role-tampered token refused", f"{surface.roles[0]} token with role edited to {top}, "
                                        "original signature kept", tampered),
        ("garbage token refused", "not a JWT", "not-a-token"),
    ]


def token_probes(surface: Surface, transcript: Transcript) -> list[Fact]:
    return [try_credential(surface, transcript, AUTH_ENFORCED, name, label, tok)
            for name, label, tok in bad_tokens(surface)]


def api_key_probes(surface: Surface, transcript: Transcript) -> list[Fact | Undecided]:
    creds = surface.credentials
    keys = {role: key for role, key in creds.api_keys.items() if key}
    out: list[Fact | Undecided] = []
    if not keys:
        return [Undecided("API keys", "no API key was given (auth.credentials in the profile), so none was attacked",
                          criterion=AUTH_ENFORCED)]
    sample = next(iter(keys.values()))
    out.append(try_credential(surface, transcript, AUTH_ENFORCED, "random look-alike API key refused",
                              f"random API key, {len(sample)} chars like a real one", lookalike(sample)))
    if creds.revoked_api_key:
        out.append(try_credential(surface, transcript, AUTH_ENFORCED, "revoked API key refused",
                                  "revoked API key", creds.revoked_api_key))
    else:
        out.append(Undecided("revoked API key refused", "the profile names no revoked key", criterion=AUTH_ENFORCED))
    return out


def unauthenticated_probe(surface: Surface, transcript: Transcript) -> Fact:
    """Every protected method called on a connection that never logged in."""
    mark = transcript.mark()
    transcript.note("probe: every protected method without logging in")
    rows = []
    with surface.connect("anon", transcript) as conn:
        for method in surface.protected_methods():
            reply = conn.call(method)
            rows.append([method, surface.contract.least_role(method) or "-", reply.summary(),
                         "ANSWERED" if reply.ok else "refused"])
    answered = [row[0] for row in rows if row[3] == "ANSWERED"]
    return Fact("protected methods refuse an unauthenticated session", not answered,
                expected="an error for every protected method",
                observed=f"answered with a result: {', '.join(answered)}" if answered else f"all {len(rows)} refused",
                exchanges=(transcript.render(mark),),
                details={"table": {"title": "protected methods called without logging in",
                                   "columns": ["method", "role needed", "reply", "outcome"], "rows": rows}},
                criterion=AUTH_ENFORCED)


def privilege_probes(surface: Surface, transcript: Transcript) -> list[Fact]:
    """A lower role's token and API key used on each higher role's read-only method."""
    out = []
    roles = surface.roles
    for i, low in enumerate(roles[:-1]):
        targets = [(high, surface.read_only_method(high)) for high in roles[i + 1:]]
        targets = [(h, m) for h, m in targets if m]
        if not targets:
            continue
        creds = [(f"{low} token", f"valid {low} token", surface.token(low))]
        if surface.credentials.api_keys.get(low):
            creds.append((f"{low} API key", f"valid {low} API key", surface.credentials.api_keys[low]))
        for what, label, credential in creds:
            transcript.describe(credential, tokens.describe(credential, label))
            mark = transcript.mark()
            transcript.note(f"probe: {what} on higher-role methods")
            with surface.connect(low, transcript) as conn:
                login = conn.call(surface.auth_method, {surface.auth_param: credential})
                replies = {m: conn.call(m) for _, m in targets}
            if not login.ok:
                out.append(Fact(f"{what} kept to its role", False, expected=f"login as {low} works (control)",
                                observed=f"a valid {low} credential was refused: {login.summary()}",
                                exchanges=(transcript.render(mark),), criterion=AUTH_ENFORCED))
                continue
            leaked = [m for m, r in replies.items() if r.ok]
            out.append(Fact(f"{what} kept to its role", not leaked,
                            expected="an error (insufficient permissions) for "
                            + ", ".join(f"{m} ({h})" for h, m in targets),
                            observed="; ".join(f"{m}: {r.summary()}" for m, r in replies.items()),
                            exchanges=(transcript.render(mark),), details={"answered": leaked},
                            criterion=AUTH_ENFORCED))
    return out


def _accepts_expired(surface: Surface, transcript: Transcript, secret: str, seconds_ago: int) -> bool:
    """Whether a login works with a token whose `exp` passed `seconds_ago` seconds ago."""
    token = surface.credentials.sign(surface.credentials.body(surface.roles[0], tokens.PROBE_USER, exp_in=-seconds_ago),
                                     key=secret)
    transcript.describe(token, tokens.describe(token, f"expired {seconds_ago} s ago"))
    with surface.connect("skew", transcript) as conn:
        return conn.call(surface.auth_method, {surface.auth_param: token}).ok


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
    if after.ok:
        problems.append(f"{method} still answered {time.time() - body['exp'] - leeway:.1f} s after the token "
                        "expired (allowance included)")
    logout = next((m for m in LOGOUT_METHODS if m in surface.contract.methods), None)
    return Fact(name, not problems,
                expected=f"{method} refused once the token has expired (plus the clock-skew allowance)",
                observed="; ".join(problems) if problems else
                f"before expiry: {before.summary()}; after expiry: {after.summary()}",
                exchanges=(transcript.render(mark),),
                details={"measured_leeway_s": measured, "stated_leeway_s": stated,
                         "logout_method": logout or "none in the contract (logout reuse not applicable)"},
                criterion=AUTH_ENFORCED)


def placeholder_secret_probe(surface: Surface, transcript: Transcript) -> Fact:
    """Admin tokens signed with each well-known placeholder secret; none may log in."""
    top = surface.roles[-1]
    mark = transcript.mark()
    transcript.note(f"probe: {top} tokens signed with {len(tokens.PLACEHOLDER_SECRETS)} placeholder secrets")
    accepted = []
    for secret in tokens.PLACEHOLDER_SECRETS:
        token = surface.credentials.sign(surface.credentials.body(top, tokens.PROBE_USER, exp_in=300), key=secret)
        transcript.describe(token, tokens.describe(token, f"signed with placeholder secret {secret!r}"))
        with surface.connect("guess", transcript) as conn:
            if conn.call(surface.auth_method, {surface.auth_param: token}).ok:
                accepted.append(secret)
    return Fact("no placeholder JWT secret accepted", not accepted,
                expected="every token signed with a placeholder secret refused",
                observed=(f"accepted: {', '.join(map(repr, accepted))}" if accepted
                          else f"all {len(tokens.PLACEHOLDER_SECRETS)} refused"),
                exchanges=(transcript.render(mark),), details={"accepted_count": len(accepted)},
                criterion=NO_DEFAULT_CREDENTIALS)
