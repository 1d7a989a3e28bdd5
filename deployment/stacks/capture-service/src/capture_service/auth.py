"""Bearer JWTs (HS256, a `role` claim, not expired): the role a request carries, or why it has none."""

from __future__ import annotations

import jwt

ROLES = ("viewer", "operator", "admin")      # lowest first: a role may do what the ones below it may


class Unauthorized(Exception):
    """No valid token (401)."""


def role_of(header: str, secret: str, leeway_s: float = 0) -> str:
    """The role of the `Authorization: Bearer <jwt>` header; raises Unauthorized otherwise."""
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("a bearer token is required")
    try:
        claims = jwt.decode(token.strip(), secret, algorithms=["HS256"], leeway=leeway_s,
                            options={"require": ["exp", "role"]})
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token ({type(exc).__name__})") from None
    if claims["role"] not in ROLES:
        raise Unauthorized("unknown role")
    return claims["role"]


def allows(role: str, least: str) -> bool:
    return ROLES.index(role) >= ROLES.index(least)
