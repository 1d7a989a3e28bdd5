"""Credentials for tests: JWTs per role, deliberately bad tokens, API keys; every secret registered for redaction.

The bad tokens are the ones an attacker tries first: expired, signed with another key, ``alg: none``,
not valid yet. Each minted token and key is registered with :mod:`ivv.evidence.redact` so no report, artifact
or log shows it. (ivv.security.tokens goes further for attack probes; this is the contract suite's set.)
"""

from __future__ import annotations

import base64
import json
import secrets as _stdlib_secrets
import time
from dataclasses import dataclass, field

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


@dataclass
class Credentials:
    """What the harness knows to sign tokens and present keys for a stack.

    Args:
        jwt_secret: the stack's HS256 signing secret.
        api_keys: role -> a valid API key for that role (may be empty when the stack has none).
        revoked_api_key: a key the stack has revoked (None when the stack has no revocation).
        algorithm: JWT algorithm the stack uses.
    """

    jwt_secret: str = field(repr=False)  # no secret in a traceback's repr (pytest prints locals)
    api_keys: dict[str, str] = field(default_factory=dict, repr=False)
    revoked_api_key: str | None = field(default=None, repr=False)
    algorithm: str = "HS256"
    ttl: int = 3600
    roles: tuple[str, ...] = ROLES

    def __post_init__(self) -> None:
        register_secret(self.jwt_secret)
        for key in self.api_keys.values():
            register_secret(key)
        register_secret(self.revoked_api_key)

    def _claims(self, role: str, user_id: str | None, **extra) -> dict:
        now = int(time.time())
        claims = {"user_id": user_id or f"ivv-{role}", "role": role, "iat": now, "exp": now + self.ttl}
        claims.update(extra)
        return claims

    def _sign(self, claims: dict, key: str | None = None) -> str:
        token = jwt.encode(claims, key or self.jwt_secret, algorithm=self.algorithm)
        register_secret(token)
        return token

    def token(self, role: str, user_id: str | None = None) -> str:
        """A valid JWT for ``role``."""
        return self._sign(self._claims(role, user_id))

    def expired(self, role: str = "admin") -> str:
        """Correctly signed, expired an hour ago."""
        now = int(time.time())
        return self._sign(self._claims(role, None, iat=now - 7200, exp=now - 3600))

    def forged(self, role: str = "admin") -> str:
        """Well-formed, signed with a key the stack does not know."""
        return self._sign(self._claims(role, None), key="forged-" + _stdlib_secrets.token_hex(16))

    def alg_none(self, role: str = "admin") -> str:
        """Unsigned token claiming ``alg: none`` (must never be accepted)."""
        header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        payload = _b64(json.dumps(self._claims(role, None)).encode())
        token = f"{header}.{payload}."
        register_secret(token)
        return token

    def not_yet_valid(self, role: str = "admin") -> str:
        """Correctly signed with ``nbf`` an hour in the future."""
        return self._sign(self._claims(role, None, nbf=int(time.time()) + 3600))

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
