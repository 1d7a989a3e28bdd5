"""Authentication: HS256 JWTs (claims user_id, role, exp) and API keys stored as sha256 hashes.

Roles are ordered viewer < operator < admin; a role includes every role before it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import jwt

ROLES = ("viewer", "operator", "admin")
PERMISSIONS = {
    "viewer": ["view"],
    "operator": ["view", "control"],
    "admin": ["view", "control", "admin"],
}
WEAK_SECRET = "changeme"
MIN_SECRET_BYTES = 32
CLOCK_SKEW_S = 30  # small boards often boot with a clock a little off; nbf/iat/exp get this much leeway


class AuthError(Exception):
    """Authentication failed; the message is safe to show the client."""


def role_allows(role: str | None, needed: str | None) -> bool:
    """True when `role` includes `needed` (None needed = no authentication required)."""
    if needed is None:
        return True
    if role not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(needed)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Identity:
    user_id: str
    role: str
    expires_at: float | None  # epoch seconds; None for API keys (valid until revoked)
    method: str               # "jwt" or "api_key"


class ApiKeyStore:
    """API keys in a JSON file: [{"id", "role", "sha256", "revoked"}]; re-read when the file changes."""

    def __init__(self, path: Path | None):
        self.path = Path(path) if path else None
        self._mtime = None
        self._keys: list[dict] = []

    def entries(self) -> list[dict]:
        if self.path is None or not self.path.exists():
            return []
        mtime = self.path.stat().st_mtime_ns
        if mtime != self._mtime:
            self._keys = json.loads(self.path.read_text() or "[]")
            self._mtime = mtime
        return self._keys

    def lookup(self, key: str) -> dict | None:
        digest = hash_key(key)
        for entry in self.entries():
            if hmac.compare_digest(entry.get("sha256", ""), digest):
                return entry
        return None

    def add(self, role: str, key_id: str | None = None) -> tuple[str, str]:
        """Create a key for `role`; returns (id, key). Only the hash is stored."""
        if role not in ROLES:
            raise ValueError(f"role {role!r}: expected one of {', '.join(ROLES)}")
        keys = list(self.entries())
        key = "csk_" + secrets.token_urlsafe(32)
        key_id = key_id or f"key-{len(keys) + 1}-{secrets.token_hex(3)}"
        keys.append({"id": key_id, "role": role, "sha256": hash_key(key), "revoked": False})
        self._write(keys)
        return key_id, key

    def revoke(self, key_id: str) -> bool:
        keys = list(self.entries())
        found = False
        for entry in keys:
            if entry["id"] == key_id:
                entry["revoked"] = True
                found = True
        self._write(keys)
        return found

    def _write(self, keys: list[dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(keys, indent=2) + "\n")
        tmp.chmod(0o600)
        tmp.replace(self.path)
        self._mtime = None


class Authenticator:
    """Checks a token: a JWT signed with the configured secret, or an API key from the store."""

    def __init__(self, jwt_secret: str, keys: ApiKeyStore, faults=None):
        self.jwt_secret = jwt_secret
        self.keys = keys
        self.faults = faults

    def authenticate(self, token) -> Identity:
        if not isinstance(token, str) or not token:
            raise AuthError("authentication failed: auth_token missing")
        if token.count(".") == 2:
            return self._jwt(token)
        entry = self.keys.lookup(token)
        if entry is None or entry.get("revoked"):
            raise AuthError("authentication failed: invalid or revoked API key")
        return Identity(user_id=f"api-key:{entry['id']}", role=entry["role"], expires_at=None, method="api_key")

    def _secrets(self) -> list[str]:
        keys = [self.jwt_secret] if self.jwt_secret else []
        if self.faults is not None and self.faults.weak_secret:
            keys.append(WEAK_SECRET)
        return keys

    def _jwt(self, token: str) -> Identity:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthError("authentication failed: malformed token") from exc
        if header.get("alg") == "none" and self.faults is not None and self.faults.accept_alg_none:
            claims = jwt.decode(token, options={"verify_signature": False})
            return self._identity(claims)
        claims = None
        for secret in self._secrets():
            try:
                claims = jwt.decode(token, secret, algorithms=["HS256"], leeway=CLOCK_SKEW_S,
                                    options={"require": ["exp", "user_id", "role"]})
                break
            except jwt.ExpiredSignatureError as exc:
                raise AuthError("authentication failed: token expired") from exc
            except jwt.ImmatureSignatureError as exc:
                raise AuthError("authentication failed: token not yet valid") from exc
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError as exc:
                raise AuthError("authentication failed: invalid token") from exc
        if claims is None:
            raise AuthError("authentication failed: invalid token signature")
        return self._identity(claims)

    @staticmethod
    def _identity(claims: dict) -> Identity:
        role = claims.get("role")
        if role not in ROLES:
            raise AuthError("authentication failed: unknown role")
        exp = claims.get("exp")
        if exp is not None and float(exp) + CLOCK_SKEW_S < time.time():
            raise AuthError("authentication failed: token expired")
        return Identity(user_id=str(claims.get("user_id")), role=role,
                        expires_at=float(exp) if exp is not None else None, method="jwt")


def mint(secret: str, user_id: str, role: str, ttl_s: float = 3600) -> str:
    """A JWT for `role` (used by the key tool and by tests)."""
    return jwt.encode({"user_id": user_id, "role": role, "exp": int(time.time() + ttl_s)}, secret,
                      algorithm="HS256")
