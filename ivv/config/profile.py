"""The stack profile: ports, endpoints, units, users, paths, auth, faults and deployment of one stack.

`load(path)` validates the YAML against ivv/config/schemas/profile.schema.json and a few cross-field rules;
every error names the file, line and field. Suites read a stack only through this object, so a user
points ivv at their own stack by writing a profile. A profile without `deployment` is endpoint-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivv import resources
from ivv.config import loader as config
from ivv.errors import ProfileError

DEFAULT_PROFILE = resources.deployment("stacks", "camera-service", "profile.yaml")
OPERATIONS = ("install", "upgrade", "rollback", "uninstall", "purge")


def _per_environment(value, environment: str | None, default=None):
    """A profile value given once or per environment (`{production: true, ...}`)."""
    if isinstance(value, dict):
        return value.get(environment, default) if environment else default
    return default if value is None else value


@dataclass(frozen=True)
class Profile:
    path: Path
    data: dict[str, Any]
    lines: dict[tuple, int] = field(default_factory=dict, repr=False, compare=False)

    # -- plain sections ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def rpc(self) -> dict:
        return self.data["rpc"]

    @property
    def health(self) -> dict:
        return self.data["health"]

    @property
    def media(self) -> dict:
        return self.data.get("media", {})

    @property
    def camera(self) -> dict:
        return self.data.get("camera", {})

    @property
    def units(self) -> list[str]:
        return [u["name"] for u in self.data.get("units", [])]

    @property
    def users(self) -> list[dict]:
        return self.data.get("users", [])

    @property
    def paths(self) -> dict:
        return self.data.get("paths", {})

    @property
    def data_dirs(self) -> list[str]:
        return self.paths.get("data", [])

    @property
    def auth(self) -> dict:
        return self.data.get("auth", {})

    @property
    def faults(self) -> dict | None:
        return self.data.get("faults")

    @property
    def deployment(self) -> dict | None:
        return self.data.get("deployment")

    @property
    def local(self) -> dict | None:
        """How the `local` target runs this stack as processes (None: it cannot run locally)."""
        return self.data.get("local")

    @property
    def endpoint_only(self) -> bool:
        return "deployment" not in self.data

    @property
    def environments(self) -> list[str]:
        return self.data.get("environments", ["production"])

    # -- files next to the profile -------------------------------------------------------------
    def resolve(self, relative: str) -> Path:
        return (self.path.parent / relative).resolve()

    @property
    def contract_path(self) -> Path | None:
        return self.resolve(self.data["contract"]) if "contract" in self.data else None

    @property
    def runbook_path(self) -> Path | None:
        return self.resolve(self.data["runbook"]) if "runbook" in self.data else None

    # -- endpoints -----------------------------------------------------------------------------
    def tls(self, environment: str | None) -> bool:
        return bool(_per_environment(self.rpc.get("tls"), environment, False))

    def bind(self, section: str, environment: str | None) -> str | None:
        """The configured listen address of `rpc`, `health` or `media` in `environment`."""
        return _per_environment(self.data.get(section, {}).get("bind"), environment)

    def rpc_url(self, host: str, port: int | None = None, environment: str | None = None,
                schemes: tuple[str, str] = ("ws", "wss")) -> str:
        """The API's URL; `schemes`: the (plain, TLS) schemes of its protocol."""
        scheme = schemes[1] if self.tls(environment) else schemes[0]
        return f"{scheme}://{host}:{port or self.rpc['port']}{self.rpc['path']}"

    def health_endpoint(self, name: str) -> dict:
        try:
            return self.health["endpoints"][name]
        except KeyError:
            raise ProfileError(f"{self.path}: health.endpoints has no {name!r} "
                               f"(known: {', '.join(self.health['endpoints'])})") from None

    def health_url(self, name: str, host: str, port: int | None = None) -> str:
        scheme = "https" if self.health.get("tls") else "http"
        return f"{scheme}://{host}:{port or self.health['port']}{self.health_endpoint(name)['path']}"

    @property
    def ready_endpoint(self) -> str:
        return self.health.get("ready_endpoint", "ready")

    def files_base(self, host: str, port: int | None = None, environment: str | None = None) -> str:
        scheme = "https" if self.tls(environment) else "http"
        return f"{scheme}://{host}:{port or self.rpc['port']}"

    # -- deployment ----------------------------------------------------------------------------
    def _need_deployment(self, what: str) -> dict:
        if self.deployment is None:
            raise ProfileError(f"{self.path}: endpoint-only profile (no `deployment` section) cannot {what}")
        return self.deployment

    def commands(self, operation: str) -> list[str]:
        """The commands of one operation, placeholders unfilled (render with ivv.ops.deployment.render)."""
        deployment = self._need_deployment(operation)
        if operation not in OPERATIONS:
            raise ProfileError(f"unknown deployment operation {operation!r}; expected one of {OPERATIONS}")
        value = deployment.get(operation)
        if value is None:
            raise ProfileError(f"{self.path}: deployment.{operation} is not given")
        return [value] if isinstance(value, str) else list(value)

    def archive(self, version: str) -> Path:
        """The release archive of `version` on the harness host."""
        deployment = self._need_deployment("name a release archive")
        return self.resolve(deployment["archive"].replace("{version}", version))

    def upload_path(self, version: str) -> str | None:
        deployment = self._need_deployment("upload a release")
        target = deployment.get("upload_to")
        return target.replace("{version}", version) if target else None

    # -- fault knobs ---------------------------------------------------------------------------
    def fault_env(self, knobs: dict[str, object]) -> dict[str, str]:
        """Environment variable form of fault knobs ({"slow_ms": 200} -> {PREFIX+"SLOW_MS": "200"})."""
        if self.faults is None:
            raise ProfileError(f"{self.path}: the profile has no `faults` section; this stack has no fault knobs")
        known = self.faults.get("knobs")
        out = {}
        for name, value in knobs.items():
            if known is not None and name not in known:
                raise ProfileError(f"{self.path}: faults.knobs has no {name!r} (known: {', '.join(known)})")
            out[self.faults["prefix"] + name.upper()] = str(int(value) if isinstance(value, bool) else value)
        return out

    def fault_file_text(self, knobs: dict[str, object]) -> str:
        """The faults file a suite writes on a device (one NAME=value per line)."""
        return "".join(f"{k}={v}\n" for k, v in sorted(self.fault_env(knobs).items()))


def _check_cross_fields(profile: Profile) -> None:
    data, lines, where = profile.data, profile.lines, profile.path
    deployment = data.get("deployment")
    if deployment:
        for key in ("previous", "current"):
            if key in deployment and deployment[key] not in deployment["versions"]:
                raise ProfileError(f"{config.location(where, lines, ('deployment', key))}: deployment.{key}: "
                                   f"{deployment[key]} is not one of deployment.versions {deployment['versions']}")
    health = data["health"]
    ready = health.get("ready_endpoint", "ready")
    if ready not in health["endpoints"]:
        raise ProfileError(f"{config.location(where, lines, ('health',))}: health.ready_endpoint: {ready!r} is "
                           f"not one of health.endpoints ({', '.join(health['endpoints'])})")
    for key in ("contract", "runbook"):
        if key in data and not profile.resolve(data[key]).is_file():
            raise ProfileError(f"{config.location(where, lines, (key,))}: {key}: file not found: "
                               f"{profile.resolve(data[key])}")


def load(path: str | Path | None = None) -> Profile:
    """Read and check a profile (default: the reference stack's)."""
    path = Path(path) if path else DEFAULT_PROFILE
    data, lines = config.load(path, "profile", ProfileError)
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: expected a mapping at the top level")
    profile = Profile(path.resolve(), data, lines)
    _check_cross_fields(profile)
    return profile
