"""Hostile JWTs: expired, not yet valid, wrongly signed, `alg: none`, role-tampered, placeholder-signed.

Signing is done here with `hmac` rather than PyJWT because PyJWT (rightly) refuses an empty HMAC key,
and an attacker's tool does not: a service that accepts a token signed with "" must be caught.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

# Secrets found in tutorials, sample configs and framework defaults; a service must accept none of them.
PLACEHOLDER_SECRETS: tuple[str, ...] = (
    "", "secret", "changeme", "change-me", "your-secret-key", "your_secret_key", "your-256-bit-secret",
    "secret-key", "secretkey", "jwt-secret", "jwt_secret", "supersecret", "password", "default",
    "test", "development", "dev-secret", "camera-service-secret", "mysecret", "key",
)
PROBE_USER = "ivv-security-probe"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def claims(role: str, *, exp_in: float | None = 300, nbf_in: float | None = None, user: str = PROBE_USER,
           now: float | None = None) -> dict:
    """The documented claim set (`user_id`, `role`, `exp`), times relative to now in seconds."""
    now = time.time() if now is None else now
    body: dict = {"user_id": user, "role": role, "iat": int(now)}
    if exp_in is not None:
        body["exp"] = int(now + exp_in)
    if nbf_in is not None:
        body["nbf"] = int(now + nbf_in)
    return body


def sign(body: dict, secret: str, alg: str = "HS256") -> str:
    """A compact JWS; `alg` "none" gives the unsigned form with an empty signature."""
    header = _b64(json.dumps({"alg": alg, "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(body, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    if alg.lower() == "none":
        return f"{header}.{payload}."
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    return f"{header}.{payload}.{_b64(hmac.new(secret.encode(), signing_input, digest).digest())}"


def tamper_claims(token: str, **changes) -> str:
    """The same token with its payload edited and the original signature kept."""
    header, payload, signature = token.split(".")
    body = json.loads(_unb64(payload))
    body.update(changes)
    return f"{header}.{_b64(json.dumps(body, separators=(',', ':')).encode())}.{signature}"


def describe(token: str, how: str) -> str:
    """Transcript text for a token: its header and claims (not secret) and how it was made, no signature."""
    try:
        header, payload, _ = token.split(".")
        head = json.loads(_unb64(header))
        body = json.loads(_unb64(payload))
    except ValueError:
        return f"<token: {how}>"
    shown = {k: body[k] for k in ("role", "user_id", "exp", "nbf") if k in body}
    return f"<token alg={head.get('alg')} claims={json.dumps(shown, sort_keys=True)} {how}>"
