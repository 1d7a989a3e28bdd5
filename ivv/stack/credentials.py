"""The one place that obtains a stack's credentials, by the way its profile says (`auth.credentials`).

- on a device: the JWT signing secret read from the secrets file over the target's shell (sudo), and API
  keys minted for the run with the profile's `api_key_add` (one per role, plus one revoked at once with
  `api_key_revoke`); the minted keys are revoked again when the stack is closed;
- from the environment: the variables an endpoint-only profile names (`jwt_secret_env`, `api_keys_env`,
  `revoked_api_key_env`).
Every value is registered for redaction the moment it is read, so none reaches evidence or reports.
"""

from __future__ import annotations

import json
import os
import shlex

from ivv.errors import ConfigError, ProfileError, TargetError
from ivv.ops.commands import render
from ivv.rpc.auth import ROLES, Credentials, register_secret


def roles(profile) -> tuple[str, ...]:
    return tuple(profile.auth.get("roles") or ROLES)


def algorithm(profile) -> str:
    return (profile.auth.get("jwt") or {}).get("algorithm", "HS256")


def read_device_secret(target, profile) -> str:
    """The JWT secret from the secrets file the profile names (`auth.credentials.jwt_secret {file, key}`)."""
    spec = profile.auth.get("credentials", {}).get("jwt_secret")
    if not spec:
        raise ProfileError(f"{profile.path}: auth.credentials.jwt_secret is not given: no way to obtain the "
                           "signing secret on the device")
    result = target.run(f"sudo -n cat {shlex.quote(spec['file'])}", timeout=30)
    for line in result.stdout.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == spec["key"]:
            secret = value.strip().strip("'\"")
            if secret:
                register_secret(secret)
                return secret
    raise TargetError(f"{target.name}: {spec['key']} not found in {spec['file']} "
                      f"(exit {result.exit_status}; is the stack installed?)")


class DeviceKeys:
    """API keys minted on a device for this run (one per role and one revoked), revoked at `close()`."""

    def __init__(self, target, profile):
        self.target, self.profile = target, profile
        self.keys: dict[str, str] = {}
        self.revoked: str | None = None
        self._ids: list[str] = []
        self._for_secret: str | None = None

    def _has(self, key: str) -> bool:
        return bool(self.profile.auth.get("credentials", {}).get(key))

    def _command(self, key: str, **values) -> str:
        command = self.profile.auth["credentials"][key]
        return render(command, values, where=f"{self.profile.path}: auth.credentials.{key}")

    def _mint(self, role: str) -> dict:
        result = self.target.run(self._command("api_key_add", role=role), timeout=60)
        try:
            entry = json.loads(result.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError) as exc:
            raise TargetError(f"{self.target.name}: api_key_add for {role} failed (exit {result.exit_status})") from exc
        register_secret(entry["key"])
        return entry

    def ensure(self, secret: str) -> None:
        """Mint the keys once per installed secret (a reinstall makes a new key store)."""
        if self._for_secret == secret or not self._has("api_key_add"):
            return
        self.keys, self.revoked = {}, None
        for role in roles(self.profile):
            entry = self._mint(role)
            self.keys[role] = entry["key"]
            self._ids.append(entry["id"])
        if self._has("api_key_revoke"):
            entry = self._mint(roles(self.profile)[0])
            self.target.run(self._command("api_key_revoke", id=entry["id"]), timeout=60)
            self.revoked = entry["key"]
        self._for_secret = secret

    def minted_for(self, secret: str) -> bool:
        return self._for_secret == secret and bool(self.keys)

    def close(self) -> None:
        """Revoke the keys minted for the run (best effort: a dead device keeps them)."""
        if not self._has("api_key_revoke"):
            return
        for key_id in self._ids:
            try:
                self.target.run(self._command("api_key_revoke", id=key_id), timeout=30)
            except Exception:  # noqa: BLE001 - revoking a test key must not hide the findings
                break
        self._ids.clear()
        self._for_secret = None


def from_device(target, profile, keys: DeviceKeys | None = None, mint: bool = True) -> Credentials:
    """Credentials of a stack installed on `target`: its secret, and with `keys` the API keys minted for
    the run (minted now when `mint`, else only those already minted for this secret)."""
    secret = read_device_secret(target, profile)
    if keys is not None and mint:
        keys.ensure(secret)
    if keys is None or not keys.minted_for(secret):
        return Credentials(secret, algorithm=algorithm(profile), roles=roles(profile))
    return Credentials(secret, dict(keys.keys), keys.revoked, algorithm=algorithm(profile), roles=roles(profile))


def from_env(profile) -> Credentials:
    """Credentials from the environment variables an endpoint-only profile names; ConfigError naming the
    profile field when the secret's variable is unset (API keys are optional: their probes say so)."""
    creds = profile.auth.get("credentials", {})

    def env(name: str, field_name: str) -> str:
        value = os.environ.get(name)
        if not value:
            raise ConfigError(f"{profile.path}: {field_name} names the environment variable {name}, which is not set")
        register_secret(value)
        return value

    if not creds.get("jwt_secret_env"):
        raise ConfigError(f"{profile.path}: auth.credentials.jwt_secret_env is not given: an endpoint-only "
                          "profile names the environment variable holding the signing secret")
    secret = env(creds["jwt_secret_env"], "auth.credentials.jwt_secret_env")
    keys = {role: env(var, "") for role, var in (creds.get("api_keys_env") or {}).items() if os.environ.get(var)}
    revoked_var = creds.get("revoked_api_key_env")
    revoked = env(revoked_var, "") if revoked_var and os.environ.get(revoked_var) else None
    return Credentials(secret, keys, revoked, algorithm=algorithm(profile), roles=roles(profile))
