"""Hostile JWTs on top of the one builder (`ivv.rpc.auth.claims` / `sign`): role-tampered tokens with
the original signature kept, the placeholder secrets of tutorials and sample configs, and a transcript
description of a token that shows its claims but never its signature."""

from __future__ import annotations

import base64
import json

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
    shown = {k: v for k, v in body.items() if k != "iat"} if isinstance(body, dict) else body
    return f"<token alg={head.get('alg')} claims={json.dumps(shown, sort_keys=True)} {how}>"
