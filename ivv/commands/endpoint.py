"""`ivv gate --endpoint URL --health URL --contract FILE`: gate a service ivv did not deploy.

No inventory and no profile are needed: this writes both for the run (a profile without `deployment`,
and an inventory whose one target is this machine for a loopback host, or a network-only `endpoint`
target otherwise), runs only the suites that need no install, and adds the plugin
`ivv.pytestplugin.endpoint`, which records a gap ("stack not deployed by ivv") for every criterion of the
suites that would install, upgrade or roll back, so those are NOT VERIFIED, never PASS. The same happens
for any endpoint-only profile given with `--profile`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from ivv import http, resources
from ivv.errors import ConfigError
from ivv.pytestplugin.endpoint import NOT_DEPLOYED
from ivv.targets.endpoint import inventory_for

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


def probe_health(base_url: str, timeout: float = 3.0) -> dict[str, dict]:
    """Health endpoints that answer at `base_url`: {key: {path, status, body_status}} (404s left out)."""
    found = {}
    for key, path in HEALTH_CANDIDATES.items():
        answer = http.get(base_url.rstrip("/") + path, timeout=timeout)
        if not answer.answered or answer.status_code in (404, 405):
            continue
        status = answer.body.get("status") if isinstance(answer.body, dict) else None
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
    args.pytest_args = ["-p", "ivv.pytestplugin.endpoint", *extra]
    return args


def _endpoint_only(profile_path: str) -> bool:
    try:
        data = yaml.safe_load(Path(profile_path).read_text())
    except (OSError, yaml.YAMLError):
        return False  # the profile loader reports the problem with file and line
    return isinstance(data, dict) and "deployment" not in data
