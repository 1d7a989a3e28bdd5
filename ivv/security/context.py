"""What the security suite needs about one running stack, gathered from the profile, the target and
(when ivv started the stack) the stack object.

Credentials come, in this order, from the stack ivv started (it minted them), from the environment
variables an endpoint-only profile names, or from the device over the target's shell (the secrets file,
and API keys minted with the profile's `api_key_add` and revoked with `api_key_revoke` after the run).
Every value is registered for redaction the moment it is read.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field

from ivv.config.profile import Profile
from ivv.contract import document as contract_lib
from ivv.errors import ProfileError
from ivv.rpc.auth import Credentials, register_secret
from ivv.security.surface import Surface
from ivv.stack.endpoint import credentials_from_env


@dataclass
class SecurityContext:
    profile: Profile
    target: object
    surface: Surface
    health_url: str | None
    files_base: str
    file_routes: list[str]
    file_headers: dict[str, str]
    rate_limit: dict = field(default_factory=dict)
    max_request_bytes: int | None = None
    binds: dict[int, str] = field(default_factory=dict)      # device port -> configured address
    service_users: list[str] = field(default_factory=list)
    cleanup: list = field(default_factory=list)

    def close(self) -> None:
        for action in reversed(self.cleanup):
            try:
                action()
            except Exception:  # noqa: BLE001 - revoking a test key must not hide the findings
                pass


def _from_device(profile: Profile, target, cleanup: list) -> Credentials:
    creds = profile.auth.get("credentials", {})
    where = creds.get("jwt_secret")
    if not where:
        raise ProfileError(f"{profile.path}: auth.credentials gives no way to obtain the JWT secret "
                           "(jwt_secret {file, key} or jwt_secret_env)")
    text = target.run(f"sudo -n cat {shlex.quote(where['file'])}", timeout=20, check=True).stdout
    secret = next((line.split("=", 1)[1].strip().strip('"\'') for line in text.splitlines()
                   if line.split("=", 1)[0].strip() == where["key"]), None)
    if not secret:
        raise ProfileError(f"{profile.path}: {where['file']} on {target.name} has no {where['key']}=")
    register_secret(secret)
    keys, revoked = {}, None
    add, revoke = creds.get("api_key_add"), creds.get("api_key_revoke")
    if add:
        minted = {}
        for role in [*profile.auth.get("roles", ["viewer", "operator", "admin"]), "revoked"]:
            cmd = add.replace("{role}", profile.auth.get("roles", ["viewer"])[0] if role == "revoked" else role)
            out = json.loads(target.run(cmd, timeout=30, check=True).stdout.strip().splitlines()[-1])
            register_secret(out["key"])
            minted[role] = out
        keys = {role: out["key"] for role, out in minted.items() if role != "revoked"}
        if revoke:
            target.run(revoke.replace("{id}", minted["revoked"]["id"]), timeout=30, check=True)
            revoked = minted["revoked"]["key"]
            for role, out in minted.items():
                if role != "revoked":
                    cleanup.append(lambda i=out["id"]: target.run(revoke.replace("{id}", i), timeout=30))
    return Credentials(secret, keys, revoked)


def build(profile: Profile, target, stack=None) -> SecurityContext:
    """The context for `target`; `stack` is a started stack object (rpc_url, credentials(), ports) or None."""
    environment = getattr(stack, "environment", None) or getattr(target, "environment", None)
    cleanup: list = []
    if stack is not None:
        # ivv started it: the stack knows its URLs and the credentials it minted. A local process tree
        # has its own ports (`rpc_port`...); a device keeps the profile's ports behind target.address.
        credentials = stack.credentials()
        rpc_url, files_base = stack.rpc_url, stack.files_base
        health_url = stack.health_url(profile.ready_endpoint)
        ports = {profile.rpc["port"]: getattr(stack, "rpc_port", profile.rpc["port"]),
                 profile.health["port"]: getattr(stack, "health_port", profile.health["port"])}
        if "port" in profile.media:
            ports[profile.media["port"]] = getattr(stack, "media_port", profile.media["port"])
    else:
        host, rpc_port = target.address(profile.rpc["port"])
        health_host, health_port = target.address(profile.health["port"])
        ports = {}
        rpc_url = profile.rpc_url(host, rpc_port, environment)
        files_base = profile.files_base(host, rpc_port, environment)
        health_url = profile.health_url(profile.ready_endpoint, health_host, health_port)
        if profile.auth.get("credentials", {}).get("jwt_secret_env"):
            credentials = credentials_from_env(profile)
        else:
            credentials = _from_device(profile, target, cleanup)
    if profile.contract_path is None:
        raise ProfileError(f"{profile.path}: no `contract`; the security probes need the roles per method")
    login = profile.auth.get("login", {})
    surface = Surface(rpc_url, contract_lib.load(profile.contract_path), credentials,
                      auth_method=login.get("method", "authenticate"), auth_param=login.get("param", "auth_token"),
                      leeway_s=(profile.auth.get("jwt") or {}).get("leeway_s"))
    files = profile.rpc.get("files") or {}
    routes = [route.split("{filename}")[0] for route in files.get("routes", [])]
    header = files.get("auth_header", "Authorization: Bearer {token}")
    name, _, value = header.partition(":")
    token = credentials.token(surface.roles[-1])
    binds = {}
    for section in ("rpc", "health", "media"):
        port = profile.data.get(section, {}).get("port")
        bind = profile.bind(section, environment) if section != "media" else profile.media.get("bind")
        if port and bind:
            binds[ports.get(port, port)] = bind
    return SecurityContext(
        profile=profile, target=target, surface=surface, health_url=health_url, files_base=files_base,
        file_routes=routes, file_headers={name.strip(): value.strip().replace("{token}", token)},
        rate_limit=dict(profile.rpc.get("rate_limit") or {}),
        max_request_bytes=profile.rpc.get("max_message_bytes"), binds=binds,
        service_users=[u["name"] for u in profile.users], cleanup=cleanup)
