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


# Words placeholder secrets are made of; a secret built from nothing else is a placeholder however long.
PLACEHOLDER_WORDS = ("change", "changeme", "me", "this", "default", "secret", "secrets", "example", "sample", "test",
                     "testing", "demo", "dummy", "fake", "placeholder", "password", "pass", "passwd", "key", "jwt",
                     "token", "your", "my", "our", "super", "dev", "development", "prod", "production", "stage",
                     "staging", "local", "please", "replace", "here", "todo", "insecure", "unsafe", "do", "not",
                     "use", "in", "admin", "root", "letmein", "qwerty", "camera", "service", "app", "api",
                     "signing", "sign", "hmac", "hs", "bit", "value", "string", "foo", "bar", "baz", "only", "for")
HASH_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}


def _made_of(words: str, vocabulary: frozenset[str]) -> bool:
    """Whether `words` (letters only) splits entirely into vocabulary words."""
    reach = [True] + [False] * len(words)
    for end in range(1, len(words) + 1):
        reach[end] = any(reach[start] and words[start:end] in vocabulary for start in range(max(0, end - 12), end))
    return reach[-1]


def secret_weaknesses(secret: str, algorithm: str = "HS256") -> list[str]:
    """Why a signing secret is no secret, in words that never show it: shorter than the hash (RFC 7518
    section 3.2 asks an HMAC key of at least the hash size), one of the placeholder secrets, or made of
    placeholder words only (digits and separators aside)."""
    problems = []
    need = HASH_BYTES.get(algorithm)
    if need and len(secret.encode()) < need:
        problems.append(f"it is {len(secret.encode())} bytes, shorter than the {need} bytes {algorithm} needs "
                        "(RFC 7518 section 3.2)")
    if secret in PLACEHOLDER_SECRETS or secret.lower() in PLACEHOLDER_SECRETS:
        problems.append(f"it is one of the {len(PLACEHOLDER_SECRETS)} well-known placeholder secrets")
    else:
        letters = "".join(ch for ch in secret.lower() if ch.isalpha())
        if letters and _made_of(letters, frozenset(PLACEHOLDER_WORDS)):
            problems.append("it is made of placeholder words only (such as default, change, secret, example, test)")
    return problems
