"""Credentials for tests: JWTs per role, deliberately bad tokens, API keys; every secret registered for redaction.

The bad tokens are the ones an attacker tries first: expired, signed with another key, ``alg: none``,
not valid yet. Each minted token and key is registered with :mod:`ivv.evidence.redact` so no report, artifact
or log shows it. `claims` and `sign` are the one JWT builder (the algorithm and the claim names are
parameters, HS256 with user_id + role by default); ivv.security.tokens adds the hostile forms on top.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets as _stdlib_secrets
import time
from dataclasses import dataclass, field, replace

import jwt

from ivv.evidence import redact as _redact

ROLES = ("viewer", "operator", "admin")
BAD_TOKEN_KINDS = ("no_token", "expired", "forged", "alg_none", "not_yet_valid", "revoked_api_key")


def register_secret(value: str | None) -> None:
    """Remember a secret so every writer (journal, artifacts, reports) masks it."""
    _redact.register(value)


def redact_text(text: str) -> str:
    """Text with every registered secret masked."""
    return _redact.redact(text)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


HMAC_DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
DEFAULT_CLAIMS = ("user_id", "role")  # (user claim, role claim) the reference stack documents


def claims(role: str, user: str, *, exp_in: float | None = 3600, nbf_in: float | None = None,
           now: float | None = None, names: tuple[str, str] = DEFAULT_CLAIMS, **extra) -> dict:
    """A claim set: the user and role under the stack's claim names, `iat`, and `exp`/`nbf` relative to
    now in seconds (None leaves them out); `extra` claims are added as given."""
    now = time.time() if now is None else now
    user_claim, role_claim = names
    body: dict = {user_claim: user, role_claim: role, "iat": int(now)}
    if exp_in is not None:
        body["exp"] = int(now + exp_in)
    if nbf_in is not None:
        body["nbf"] = int(now + nbf_in)
    body.update(extra)
    return body


def sign(body: dict, secret: str, algorithm: str = "HS256") -> str:
    """A compact JWS, registered for redaction. HMAC algorithms (and the unsigned `none`) are signed here,
    because PyJWT (rightly) refuses an empty key and an attacker's tool does not; any other algorithm
    (RS256, ES256: `secret` is then a PEM key) is PyJWT's."""
    if algorithm.lower() == "none" or algorithm in HMAC_DIGESTS:
        header = _b64(json.dumps({"alg": algorithm, "typ": "JWT"}, separators=(",", ":")).encode())
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        signature = "" if algorithm.lower() == "none" else _b64(
            hmac.new(secret.encode(), f"{header}.{payload}".encode(), HMAC_DIGESTS[algorithm]).digest())
        token = f"{header}.{payload}.{signature}"
    else:
        token = jwt.encode(body, secret, algorithm=algorithm)
    register_secret(token)
    return token


def claim_names(jwt_section: dict | None) -> tuple[str, str]:
    """(user claim, role claim) from a profile's `auth.jwt.claims` list: the role claim is the one naming
    a role, the user claim the first other one that is not a time claim; the defaults otherwise."""
    names = [str(n) for n in (jwt_section or {}).get("claims") or []]
    role = next((n for n in names if "role" in n.lower()), DEFAULT_CLAIMS[1])
    user = next((n for n in names if n != role and n not in ("exp", "nbf", "iat", "jti", "aud", "iss")),
                DEFAULT_CLAIMS[0])
    return user, role


@dataclass
class Credentials:
    """What the harness knows to sign tokens and present keys for a stack.

    Args:
        jwt_secret: the stack's signing secret.
        api_keys: role -> a valid API key for that role (may be empty when the stack has none).
        revoked_api_key: a key the stack has revoked (None when the stack has no revocation).
        algorithm: JWT algorithm the stack uses.
        claims: (user claim, role claim) names the stack reads.
    """

    jwt_secret: str = field(repr=False)  # no secret in a traceback's repr (pytest prints locals)
    api_keys: dict[str, str] = field(default_factory=dict, repr=False)
    revoked_api_key: str | None = field(default=None, repr=False)
    algorithm: str = "HS256"
    ttl: int = 3600
    roles: tuple[str, ...] = ROLES
    claims: tuple[str, str] = DEFAULT_CLAIMS

    def __post_init__(self) -> None:
        register_secret(self.jwt_secret)
        for key in self.api_keys.values():
            register_secret(key)
        register_secret(self.revoked_api_key)

    def shaped(self, jwt_section: dict | None) -> Credentials:
        """The same credentials minting tokens the way a profile's `auth.jwt` says (algorithm, claims)."""
        jwt_section = jwt_section or {}
        return replace(self, algorithm=jwt_section.get("algorithm", self.algorithm), claims=claim_names(jwt_section))

    def body(self, role: str, user: str | None = None, **times) -> dict:
        """The claim set of a token for `role` (times as for `claims`: exp_in, nbf_in, now)."""
        return claims(role, user or f"ivv-{role}", names=self.claims, **{"exp_in": self.ttl, **times})

    def sign(self, body: dict, key: str | None = None, algorithm: str | None = None) -> str:
        return sign(body, self.jwt_secret if key is None else key, algorithm or self.algorithm)

    def token(self, role: str, user_id: str | None = None) -> str:
        """A valid JWT for ``role``."""
        return self.sign(self.body(role, user_id))

    def expired(self, role: str = "admin") -> str:
        """Correctly signed, expired an hour ago."""
        return self.sign(self.body(role, now=time.time() - 7200, exp_in=3600))

    def forged(self, role: str = "admin") -> str:
        """Well-formed, signed with a key the stack does not know."""
        return self.sign(self.body(role), key="forged-" + _stdlib_secrets.token_hex(16))

    def alg_none(self, role: str = "admin") -> str:
        """Unsigned token claiming ``alg: none`` (must never be accepted)."""
        return self.sign(self.body(role), algorithm="none")

    def not_yet_valid(self, role: str = "admin") -> str:
        """Correctly signed with ``nbf`` an hour in the future."""
        return self.sign(self.body(role, nbf_in=3600))

    def api_key(self, role: str) -> str | None:
        return self.api_keys.get(role)

    def bad(self, kind: str, role: str = "admin") -> str | None:
        """The credential of one BAD_TOKEN_KINDS kind (None for ``no_token`` or when unavailable)."""
        if kind == "no_token":
            return None
        if kind == "revoked_api_key":
            return self.revoked_api_key
        return {"expired": self.expired, "forged": self.forged, "alg_none": self.alg_none,
                "not_yet_valid": self.not_yet_valid}[kind](role)
