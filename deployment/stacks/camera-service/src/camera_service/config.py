"""Configuration: base.yaml, the release's release.yaml, the environment overlay, site overlays, faults.

Later files win key by key (deep merge). Fault knobs may also come from the environment as
CAMERA_SERVICE_FAULT_<NAME> (the systemd unit reads them from faults.env), so a test can set a knob
without touching the release's files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

ENVIRONMENTS = ("development", "staging", "production", "local")
FAULT_ENV_PREFIX = "CAMERA_SERVICE_FAULT_"


class ConfigError(Exception):
    """A configuration file or value is wrong; the message names the file and key."""


def deep_merge(base: dict, overlay: dict) -> dict:
    """A new dict: `overlay` over `base`, nested dicts merged key by key."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    return data


def _env_faults(environ: dict[str, str]) -> dict[str, str]:
    return {key[len(FAULT_ENV_PREFIX):].lower(): value for key, value in environ.items()
            if key.startswith(FAULT_ENV_PREFIX) and value != ""}


def load(config_dir: Path, environment: str, overlays: list[Path] = (), environ=None) -> dict[str, Any]:
    """The merged configuration for `environment`; `environ` defaults to os.environ."""
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"environment {environment!r}: expected one of {', '.join(ENVIRONMENTS)}")
    config_dir = Path(config_dir)
    config = _read_yaml(config_dir / "base.yaml")
    for optional in (config_dir / "release.yaml", config_dir / f"{environment}.yaml"):
        if optional.exists():
            config = deep_merge(config, _read_yaml(optional))
    for overlay in overlays:
        config = deep_merge(config, _read_yaml(Path(overlay)))
    environ = os.environ if environ is None else environ
    config["faults"] = deep_merge(config.get("faults") or {}, _env_faults(environ))
    config["environment"] = environment
    return config
