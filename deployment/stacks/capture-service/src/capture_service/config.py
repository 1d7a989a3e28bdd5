"""Configuration: base.yaml, the release's release.yaml, the environment overlay, then --overlay files.

Later files win key by key. Fault knobs may also come from the environment as CAPTURE_SERVICE_FAULT_<NAME>
(the systemd unit reads them from faults.env), so a test sets a knob without touching the release.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

ENVIRONMENTS = ("development", "staging", "production", "local")
FAULT_ENV_PREFIX = "CAPTURE_SERVICE_FAULT_"


class ConfigError(Exception):
    """A configuration file or value is wrong; the message names the file and key."""


def deep_merge(base: dict, overlay: dict) -> dict:
    merged = dict(base)
    for key, value in overlay.items():
        merged[key] = deep_merge(merged[key], value) if isinstance(value, dict) and isinstance(
            merged.get(key), dict) else value
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


def load(config_dir: Path, environment: str, overlays=(), environ=None) -> dict[str, Any]:
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
    faults = {key[len(FAULT_ENV_PREFIX):].lower(): value for key, value in environ.items()
              if key.startswith(FAULT_ENV_PREFIX) and value != ""}
    config["faults"] = {**(config.get("faults") or {}), **faults}
    try:
        int(config["server"]["port"])
        str(config["storage"]["captures_dir"])
        str(config["storage"]["transfer_dir"])
        str(config["camera"]["capture"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{config_dir}: server.port, storage.captures_dir, storage.transfer_dir and "
                          f"camera.capture are required ({exc!r})") from exc
    return config
