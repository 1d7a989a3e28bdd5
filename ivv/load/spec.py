"""What load to apply: built from the gate's `load` settings, validated with errors naming the field.

A spec is plain data (JSON round-trip) so the load process, its workers and the suite all read the same
thing. The auth token is never part of it: it travels in the environment (IVV_LOAD_TOKEN).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ivv.errors import ConfigError

TOKEN_ENV = "IVV_LOAD_TOKEN"

DEFAULT_TASK_MIX: dict[str, Any] = {"ping": 5, "get_camera_list": 3, "get_camera_status": 2}

# Params for mix entries that give none (methods with required params); the suite may pass the
# profile's camera device instead.
DEFAULT_PARAMS: dict[str, dict] = {"get_camera_status": {"device": "/dev/video0"}}


@dataclass(frozen=True)
class Task:
    """One JSON-RPC method of the mix, with its relative weight and fixed params."""

    method: str
    weight: float
    params: dict[str, Any] | None = None


@dataclass(frozen=True)
class LoadSpec:
    """Load shape. Open model when `arrival_rate_per_s` is set, closed model (users x loop) otherwise."""

    url: str
    users: int = 10
    spawn_rate: float = 10.0
    duration_s: float = 30.0
    arrival_rate_per_s: float | None = None
    tasks: tuple[Task, ...] = field(default_factory=tuple)
    think_time_s: float = 0.0
    timeout_s: float = 5.0
    max_requests: int = 200_000
    authenticate: bool = True
    source: str = "load settings"
    tls_verify: bool = True           # wss:// only: verify the server certificate (against ca_file if given)
    ca_file: str | None = None
    steps: dict | None = None         # a capacity search (ivv.load.capacity): settings, limits, minimum

    @property
    def protocol(self) -> str:
        """`http` for an http(s):// URL (ivv.load.http_user), else JSON-RPC over WebSocket."""
        return "http" if self.url.startswith(("http://", "https://")) else "jsonrpc-ws"

    @property
    def open_model(self) -> bool:
        return self.arrival_rate_per_s is not None

    @property
    def model(self) -> str:
        return "open" if self.open_model else "closed"

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadSpec:
        data = dict(data)
        data["tasks"] = tuple(Task(**t) for t in data.get("tasks", ()))
        return cls(**data)

    @classmethod
    def read(cls, path: str | Path) -> LoadSpec:
        return cls.from_dict(json.loads(Path(path).read_text()))

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.to_json())
        return path


def _number(settings: dict, key: str, source: str, default, *, zero_ok=False, integer=False, allow_none=False):
    value = settings.get(key, default)
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or (value == 0 and not zero_ok):
        bound = ">= 0" if zero_ok else "> 0"
        raise ConfigError(f"{source}: load.{key} must be a number {bound}, got {value!r}")
    if integer and int(value) != value:
        raise ConfigError(f"{source}: load.{key} must be a whole number, got {value!r}")
    return int(value) if integer else float(value)


def parse_task_mix(mix: Any, source: str = "load settings", default_params: dict | None = None) -> tuple[Task, ...]:
    """`{method: weight}` or `{method: {weight, params}}` -> tasks; weights must be positive."""
    default_params = DEFAULT_PARAMS if default_params is None else default_params
    if mix is None:
        mix = DEFAULT_TASK_MIX
    if not isinstance(mix, dict) or not mix:
        raise ConfigError(f"{source}: load.task_mix must be a non-empty mapping of method -> weight")
    tasks = []
    for method, entry in mix.items():
        params = None
        if isinstance(entry, dict):
            unknown = set(entry) - {"weight", "params"}
            if unknown:
                raise ConfigError(f"{source}: load.task_mix.{method}: unknown keys {sorted(unknown)}")
            weight, params = entry.get("weight", 1), entry.get("params")
            if params is not None and not isinstance(params, dict):
                raise ConfigError(f"{source}: load.task_mix.{method}.params must be a mapping")
        else:
            weight = entry
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
            raise ConfigError(f"{source}: load.task_mix.{method}: weight must be a positive number, got {weight!r}")
        if params is None:
            params = default_params.get(str(method))
        tasks.append(Task(str(method), float(weight), params))
    return tuple(tasks)


def http_operation(label: str, source: str = "load settings") -> tuple[str, str]:
    """An HTTP task's label `GET /status` -> ("GET", "/status"); an error naming the task otherwise."""
    parts = label.split(None, 1)
    if len(parts) != 2 or not parts[1].startswith("/") or not parts[0].isalpha():
        raise ConfigError(f"{source}: load.task_mix.{label}: an HTTP task is 'METHOD /path' (e.g. 'GET /status')")
    return parts[0].upper(), parts[1]


def spec_from_settings(url: str, settings: dict | None, source: str = "load settings",
                       default_params: dict | None = None, tls_verify: bool = True, ca_file: str | None = None,
                       **overrides) -> LoadSpec:
    """Build a spec from a gate's `load:` mapping (keys as in docs/internals.md), overrides win."""
    settings = dict(settings or {})
    settings.update({k: v for k, v in overrides.items() if v is not None})
    known = {"users", "spawn_rate", "duration_s", "arrival_rate_per_s", "task_mix", "think_time_s",
             "timeout_s", "max_requests", "authenticate", "workers", "sample_interval_s", "warmup_s"}
    unknown = set(settings) - known
    if unknown:
        raise ConfigError(f"{source}: unknown load settings {sorted(unknown)} (known: {sorted(known)})")
    if not url.startswith(("ws://", "wss://", "http://", "https://")):
        raise ConfigError(f"{source}: load URL must start with ws://, wss://, http:// or https://, got {url!r}")
    tasks = parse_task_mix(settings.get("task_mix"), source, default_params)
    if url.startswith("http"):
        for t in tasks:
            http_operation(t.method, source)
    return LoadSpec(
        url=url,
        users=_number(settings, "users", source, 10, integer=True),
        spawn_rate=_number(settings, "spawn_rate", source, 10.0),
        duration_s=_number(settings, "duration_s", source, 30.0),
        arrival_rate_per_s=_number(settings, "arrival_rate_per_s", source, None, allow_none=True),
        tasks=tasks,
        think_time_s=_number(settings, "think_time_s", source, 0.0, zero_ok=True),
        timeout_s=_number(settings, "timeout_s", source, 5.0),
        max_requests=_number(settings, "max_requests", source, 200_000, integer=True),
        authenticate=bool(settings.get("authenticate", True)),
        source=source,
        tls_verify=tls_verify,
        ca_file=ca_file,
    )
