"""Endpoint-only validation: a service ivv did not deploy, reached at `ws://HOST:PORT/...` and nothing more.

`ivv gate --endpoint URL --health URL --contract FILE` needs no inventory and no profile: this module
writes both for the run (a profile without `deployment`, and an inventory whose one target is this machine
for a loopback host, or a network-only `endpoint` target otherwise), runs only the suites that need no
install, and records a gap ("stack not deployed by ivv") for every criterion of the suites that would
install, upgrade or roll back, so those criteria are NOT VERIFIED, never PASS. The same happens for any
endpoint-only profile given with `--profile`.

It is also a pytest plugin (`-p ivv.stack.endpoint`, added by `ivv gate`): it registers the `endpoint` target
kind and records those gaps at session start.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
import yaml

from ivv import resources
from ivv.errors import ConfigError
from ivv.stack.addressing import TargetAddressed
from ivv.targets.base import Target, register_target

NOT_DEPLOYED = "stack not deployed by ivv"
INSTALL_SUITES = ("deployment", "rollback", "documentation")  # they install, upgrade or roll back
ENDPOINT_SUITES = ("health", "contract", "performance", "security")
# Health paths worth asking a service that did not tell us its own (the API's first, then common ones).
HEALTH_CANDIDATES = {
    "ready": "/health/ready", "system": "/health/system", "cameras": "/health/cameras",
    "mediamtx": "/health/mediamtx", "health": "/health", "healthz": "/healthz", "readyz": "/readyz",
}
KNOWN_CODES = {
    "/health/ready": {"ready": 200, "not_ready": 503},
    "/health/system": {"healthy": 200, "degraded": 200, "unhealthy": 500},
    "/health/cameras": {"healthy": 200, "unhealthy": 500},
    "/health/mediamtx": {"healthy": 200, "unhealthy": 500},
}
API_KEY_ENV = "IVV_API_KEY_{role}"
JWT_SECRET_ENV = "IVV_JWT_SECRET"


@register_target("endpoint")
@dataclass(eq=False)
class EndpointTarget(Target):
    """A device reached over the network only: no shell, no files, no power control."""

    host: str = ""
    capabilities: ClassVar[frozenset[str]] = frozenset()

    def address(self, port: int) -> tuple[str, int]:
        return (self.host, int(port))

    def facts(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "environment": self.environment, "host": self.host,
                "note": "reached over the network only; no shell, so no device facts"}


@dataclass
class EndpointStack(TargetAddressed):
    """A stack ivv did not deploy, as the suites' `deployed_stack`: where it answers (through
    `target.address`) and the credentials the profile names by environment variable. It offers no
    control (no restart, no dependency stop/start), so checks that need one are NOT VERIFIED."""

    target: Any
    profile: Any
    environment: str

    def credentials(self, api_keys: bool = True):
        return credentials_from_env(self.profile)


# -- reading the user's URLs --------------------------------------------------------------------------
def parse_url(url: str, option: str, schemes: tuple[str, ...]) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of a URL, or ConfigError naming the option."""
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigError(f"{option} {url!r}: expected {' or '.join(s + '://HOST:PORT/...' for s in schemes)}")
    try:
        port = parts.port or (443 if parts.scheme in ("wss", "https") else 80)
    except ValueError as exc:
        raise ConfigError(f"{option} {url!r}: bad port ({exc})") from exc
    return parts.scheme, parts.hostname, port, parts.path or "/"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def probe_health(base_url: str, timeout: float = 3.0) -> dict[str, dict]:
    """Health endpoints that answer at `base_url`: {key: {path, status, body_status}} (404s left out)."""
    found = {}
    for key, path in HEALTH_CANDIDATES.items():
        try:
            answer = requests.get(base_url.rstrip("/") + path, timeout=timeout)
        except requests.RequestException:
            continue
        if answer.status_code in (404, 405):
            continue
        try:
            body = answer.json()
        except ValueError:
            body = None
        status = body.get("status") if isinstance(body, dict) else None
        found[key] = {"path": path, "status": answer.status_code, "body_status": status}
    return found


def health_section(base_url: str, found: dict[str, dict]) -> dict:
    _, _, port, _ = parse_url(base_url, "--health", ("http", "https"))
    endpoints = {}
    for key, seen in found.items():
        codes = dict(KNOWN_CODES.get(seen["path"], {}))
        if seen["body_status"] and seen["body_status"] not in codes:
            codes[str(seen["body_status"])] = seen["status"]
        endpoints[key] = {"path": seen["path"], "codes": codes or {"ok": seen["status"]}}
    if not endpoints:
        raise ConfigError(f"--health {base_url}: no health endpoint answered (tried "
                          f"{', '.join(HEALTH_CANDIDATES.values())})")
    ready = "ready" if "ready" in endpoints else next(iter(endpoints))
    return {"port": port, "tls": base_url.startswith("https"), "ready_endpoint": ready, "endpoints": endpoints}


def build_profile(endpoint: str, health: str, contract: str | Path, name: str | None = None,
                  found_health: dict | None = None) -> dict:
    """An endpoint-only profile (no `deployment`) for a running service."""
    scheme, host, port, path = parse_url(endpoint, "--endpoint", ("ws", "wss"))
    contract = Path(contract).resolve()
    if not contract.is_file():
        raise ConfigError(f"--contract {contract}: file not found")
    found = probe_health(health) if found_health is None else found_health
    return {
        "name": name or f"endpoint-{host}-{port}",
        "description": f"service at {endpoint}, validated endpoint-only ({NOT_DEPLOYED})",
        "contract": str(contract),
        "rpc": {"port": port, "path": path, "tls": scheme == "wss"},
        "health": health_section(health, found),
        "auth": {"methods": ["jwt", "api_key"], "login": {"method": "authenticate", "param": "auth_token"},
                 "credentials": {"jwt_secret_env": JWT_SECRET_ENV,
                                 "api_keys_env": {r: API_KEY_ENV.format(role=r.upper())
                                                  for r in ("viewer", "operator", "admin")},
                                 "revoked_api_key_env": API_KEY_ENV.format(role="REVOKED")}},
    }


def inventory_for(host: str) -> dict:
    kind = "local" if is_loopback(host) else "endpoint"
    entry: dict = {"name": "service", "kind": kind, "environment": "staging", "tags": ["endpoint-only"]}
    if kind == "endpoint":
        entry["host"] = host
    return {"description": f"generated by ivv gate --endpoint ({NOT_DEPLOYED})", "targets": [entry]}


def credentials_from_env(profile):
    """ivv.rpc.auth.Credentials from the environment variables an endpoint-only profile names (registered
    for redaction as they are read); ConfigError naming the profile field when a variable is unset."""
    from ivv.rpc.auth import Credentials, register_secret

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
    # API keys are optional: a role whose variable is unset has no key, and the probes that need one
    # say so (NOT VERIFIED) instead of the whole run stopping.
    keys = {role: env(var, "") for role, var in (creds.get("api_keys_env") or {}).items() if os.environ.get(var)}
    revoked_var = creds.get("revoked_api_key_env")
    revoked = env(revoked_var, "") if revoked_var and os.environ.get(revoked_var) else None
    return Credentials(secret, keys, revoked, algorithm=(profile.auth.get("jwt") or {}).get("algorithm", "HS256"))


# -- the `ivv gate` hook -----------------------------------------------------------------------------
def add_gate_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("a service ivv did not deploy (endpoint-only)")
    group.add_argument("--endpoint", metavar="URL", help="ws://HOST:PORT/PATH of the running service's API")
    group.add_argument("--health", metavar="URL", help="http://HOST:PORT of its health server")
    group.add_argument("--contract", metavar="FILE", help="its OpenRPC contract")


def prepare_gate(args: argparse.Namespace, run_id: str) -> argparse.Namespace:
    """Fill in profile, inventory and suites for an endpoint-only run; unchanged otherwise."""
    given = [o for o in ("endpoint", "health", "contract") if getattr(args, o, None)]
    if given and len(given) < 3:
        missing = sorted({"endpoint", "health", "contract"} - set(given))
        raise ConfigError(f"--endpoint, --health and --contract go together; missing: --{', --'.join(missing)}")
    if given:
        if args.profile:
            raise ConfigError("--endpoint builds the profile itself; give either --profile or --endpoint")
        folder = Path(tempfile.mkdtemp(prefix=f"ivv-endpoint-{run_id}-"))
        profile = build_profile(args.endpoint, args.health, args.contract)
        args.profile = str(folder / "profile.yaml")
        Path(args.profile).write_text(yaml.safe_dump(profile, sort_keys=False))
        if not args.inventory:
            _, host, _, _ = parse_url(args.endpoint, "--endpoint", ("ws", "wss"))
            args.inventory = str(folder / "inventory.yaml")
            Path(args.inventory).write_text(yaml.safe_dump(inventory_for(host), sort_keys=False))
            args.target = ["service"]
    if not args.profile or not _endpoint_only(args.profile):
        return args
    if not args.inventory and not os.environ.get("IVV_INVENTORY"):
        # a running service and no inventory: it runs here (the default inventory would boot a virtual
        # device where nothing is installed)
        folder = Path(tempfile.mkdtemp(prefix=f"ivv-endpoint-{run_id}-"))
        args.inventory = str(folder / "inventory.yaml")
        Path(args.inventory).write_text(yaml.safe_dump(inventory_for("127.0.0.1"), sort_keys=False))
        args.target = ["service"]
    if not args.suites:
        root = Path(getattr(args, "suites_dir", None) or resources.shipped("suites"))
        available = {p.name for p in root.iterdir() if p.is_dir()} if root.is_dir() else set()
        args.suites = ",".join(s for s in ENDPOINT_SUITES if s in available)
    extra = list(args.pytest_args or [])
    extra = extra[1:] if extra[:1] == ["--"] else extra
    args.pytest_args = ["-p", "ivv.stack.endpoint", *extra]
    return args


def _endpoint_only(profile_path: str) -> bool:
    try:
        data = yaml.safe_load(Path(profile_path).read_text())
    except (OSError, yaml.YAMLError):
        return False  # the profile loader reports the problem with file and line
    return isinstance(data, dict) and "deployment" not in data


# -- pytest plugin part ------------------------------------------------------------------------------
def record_not_deployed(gates, bundle, profile_name: str) -> list[str]:
    """A gap for every criterion decided by an install suite; returns their ids."""
    ids = []
    for criterion in gates.criteria:
        if criterion.suite in INSTALL_SUITES:
            bundle.recorder(suite=criterion.suite).gap(
                criterion.id, NOT_DEPLOYED, details={"profile": profile_name, "mode": "endpoint-only"})
            ids.append(criterion.id)
    return ids


def pytest_sessionstart(session) -> None:
    from ivv.config import profile as profile_lib
    from ivv.evidence import bundle as bundle_lib
    from ivv.pytestplugin.plugin import STATE

    config = session.config
    state = config.stash.get(STATE, None)
    path = config.getoption("ivv_profile", None)
    if state is None or not state.gates or not path or hasattr(config, "workerinput"):
        return
    try:
        profile = profile_lib.load(path)
    except ConfigError as exc:
        import pytest

        pytest.exit(f"ivv: {exc}", returncode=2)
    if not profile.endpoint_only:
        return
    bundle = state.ensure_bundle()
    bundle.set_manifest("stack", {"name": profile.name, "version": "not deployed by ivv",
                                  "mode": "endpoint-only"})
    record_not_deployed(state.gates, bundle, profile.name)
    bundle_lib.set_current(bundle)

