"""Authentication probes: every way in that must stay shut, tried from a fresh connection each time.

Each hostile credential is logged in with, then the cheapest protected method is called on the same
connection (`ivv.security.logins`): it must stay refused with the documented authentication refusal.
Each family of probes has its positive control, a credential of the same kind that must work: a valid
token signed with the configured secret, a valid API key, a token with the placeholder probes' claims
signed with the real secret. When the control fails the refusals prove nothing and are NOT VERIFIED.
The configured secret is judged too (`tokens.secret_weaknesses`), without ever being shown.
"""

from __future__ import annotations

import random
import re
import string

from ivv.evidence.facts import Fact, Undecided, controlled
from ivv.rpc.auth import register_secret
from ivv.security import logins, tokens
from ivv.security.surface import AUTH_ENFORCED, NO_DEFAULT_CREDENTIALS, Surface
from ivv.security.wire import Transcript

Result = Fact | Undecided


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


def _under(control: Fact, results: list[Result]) -> list[Result]:
    """A family of probes under its positive control: recorded with it when it succeeded; when it failed,
    every refusal proves nothing (NOT VERIFIED), while a hostile credential that got in stays a FAIL."""
    if control.passed:
        return [control, *results]
    return [r if isinstance(r, Fact) and r.details.get("accepted") else controlled(r, control) for r in results]


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


def token_probes(surface: Surface, transcript: Transcript) -> list[Result]:
    top = surface.roles[-1]
    control = logins.accepted(surface, transcript, AUTH_ENFORCED, f"a valid {top} token is accepted (control)",
                              f"valid {top} token, signed with the configured secret", surface.token(top))
    probes = [r for name, label, tok in bad_tokens(surface)
              for r in logins.refused(surface, transcript, AUTH_ENFORCED, name, label, tok)]
    return _under(control, probes)


def api_key_probes(surface: Surface, transcript: Transcript) -> list[Result]:
    creds = surface.credentials
    keys = {role: key for role, key in creds.api_keys.items() if key}
    if not keys:
        return [Undecided("API keys", "no API key was given (auth.credentials in the profile), so none was attacked",
                          criterion=AUTH_ENFORCED)]
    role, sample = next(iter(keys.items()))
    control = logins.accepted(surface, transcript, AUTH_ENFORCED, f"a valid {role} API key is accepted (control)",
                              f"valid {role} API key", sample)
    probes = logins.refused(surface, transcript, AUTH_ENFORCED, "random look-alike API key refused",
                            f"random API key, {len(sample)} chars like a real one", lookalike(sample))
    if creds.revoked_api_key:
        probes += logins.refused(surface, transcript, AUTH_ENFORCED, "revoked API key refused", "revoked API key",
                                 creds.revoked_api_key)
    else:
        probes.append(Undecided("revoked API key refused", "the profile names no revoked key", criterion=AUTH_ENFORCED))
    return _under(control, probes)


def placeholder_secret_probe(surface: Surface, transcript: Transcript) -> list[Result]:
    """Tokens of the top role signed with each well-known placeholder secret: none may open a session.
    The control: the same claims signed with the configured secret must. Then the configured secret
    itself is judged (length for its algorithm, the placeholder list, placeholder words)."""
    top, creds = surface.roles[-1], surface.credentials
    name = "no placeholder JWT secret accepted"
    if surface.lowest_method() is None:
        return [logins.no_protected_method(name, NO_DEFAULT_CREDENTIALS), secret_judgement(surface)]
    body = creds.body(top, tokens.PROBE_USER, exp_in=300)
    control = logins.accepted(surface, transcript, NO_DEFAULT_CREDENTIALS,
                              "the same claims signed with the configured secret are accepted (control)",
                              "the probe's claims, signed with the configured secret", creds.sign(body))
    mark = transcript.mark()
    transcript.note(f"probe: {top} tokens signed with {len(tokens.PLACEHOLDER_SECRETS)} placeholder secrets")
    accepted, shaped, problems = [], [], []
    for secret in tokens.PLACEHOLDER_SECRETS:
        tried = logins.attempt(surface, transcript, creds.sign(body, key=secret),
                               f"signed with placeholder secret {secret!r}", f"placeholder secret {secret!r}", "guess")
        outcome = tried.outcome(surface)
        if outcome.accepted:
            accepted.append(secret)
        elif outcome.success_shaped and outcome.refused:
            shaped.append(secret)
        if outcome.problems:
            problems.append(f"{secret!r}: {outcome.problems[0]}")
    exchange = transcript.render(mark)
    probe = Fact(name, not accepted and not problems,
                 expected="every token signed with a placeholder secret refused as documented",
                 observed=(f"accepted: {', '.join(map(repr, accepted))}" if accepted else
                           "; ".join(problems) if problems else f"all {len(tokens.PLACEHOLDER_SECRETS)} refused"),
                 exchanges=(exchange,), details={"accepted_count": len(accepted), "accepted": bool(accepted)},
                 criterion=NO_DEFAULT_CREDENTIALS)
    out = _under(control, [probe])
    if shaped:
        out.append(logins.success_shaped(name, f"{len(shaped)} placeholder-signed logins answered with a result, "
                                         "then refused", exchange, NO_DEFAULT_CREDENTIALS))
    return [*out, secret_judgement(surface)]


def secret_judgement(surface: Surface) -> Result:
    """The configured signing secret itself, judged without being shown (ivv holds it)."""
    creds = surface.credentials
    name = "the configured JWT secret is no placeholder"
    if not creds.jwt_secret:
        return Undecided(name, "ivv was given no signing secret to judge", criterion=NO_DEFAULT_CREDENTIALS)
    problems = tokens.secret_weaknesses(creds.jwt_secret, creds.algorithm)
    return Fact(name, not problems,
                expected=f"a secret of at least the hash size for {creds.algorithm}, not a placeholder",
                observed="; ".join(problems) if problems else
                f"{len(creds.jwt_secret.encode())} bytes, not a placeholder (the secret is not shown)",
                exchanges=(f"# the configured {creds.algorithm} signing secret, judged by ivv (it holds it; it is "
                           "not shown): its length against the hash size, the placeholder list, placeholder words\n",),
                details={"algorithm": creds.algorithm, "bytes": len(creds.jwt_secret.encode())},
                criterion=NO_DEFAULT_CREDENTIALS)
