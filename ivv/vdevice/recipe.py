"""The image recipe folder (deployment/vdevice) and its cache key.

The key is a sha256 over every file of the recipe folder (relative path + bytes) plus the builder's
format version, so an unchanged recipe reuses the cached image and any change rebuilds it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from ivv import resources
from ivv.errors import ConfigError

# Bump when the builder changes what it puts into an image (not for refactors).
BUILDER_VERSION = "1"

DEFAULT_RECIPE_DIR = resources.deployment("vdevice")


@dataclass(frozen=True)
class Recipe:
    """What to build: read from recipe.yaml; paths are absolute."""

    directory: Path
    suite: str
    variant: str
    size: str
    hostname: str
    user: str
    user_groups: tuple[str, ...]
    packages: tuple[str, ...]
    files: Path | None
    customize: Path | None

    @property
    def key(self) -> str:
        return recipe_key(self.directory)


def recipe_key(directory: Path, builder_version: str = BUILDER_VERSION) -> str:
    """sha256 over the recipe folder's files and the builder version (hex, 64 chars)."""
    digest = hashlib.sha256(f"ivv-vdevice-builder:{builder_version}\n".encode())
    root = Path(directory)
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        rel = path.relative_to(root).as_posix()
        digest.update(f"{rel}\0{oct(path.stat().st_mode & 0o777)}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def load_recipe(directory: Path | str | None = None) -> Recipe:
    """Read recipe.yaml and the package list; errors name the file and field."""
    root = Path(directory or os.environ.get("IVV_VDEVICE_RECIPE") or DEFAULT_RECIPE_DIR).resolve()
    recipe_file = root / "recipe.yaml"
    try:
        data = yaml.safe_load(recipe_file.read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"{recipe_file}: cannot read the image recipe: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{recipe_file}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{recipe_file}: expected a mapping of recipe fields")

    def field(name: str, default=None, kind=str):
        value = data.get(name, default)
        if value is None or not isinstance(value, kind):
            raise ConfigError(f"{recipe_file}: field '{name}' must be a {kind.__name__}, got {value!r}")
        return value

    packages_file = root / field("packages", "packages.txt")
    try:
        lines = packages_file.read_text().splitlines()
    except OSError as exc:
        raise ConfigError(f"{recipe_file}: field 'packages': cannot read {packages_file}") from exc
    packages = tuple(line.split("#", 1)[0].strip() for line in lines)
    packages = tuple(p for p in packages if p)
    if not packages:
        raise ConfigError(f"{packages_file}: lists no packages")

    def optional_path(name: str) -> Path | None:
        value = data.get(name)
        if value is None:
            return None
        path = root / str(value)
        if not path.exists():
            raise ConfigError(f"{recipe_file}: field '{name}': {path} does not exist")
        return path

    return Recipe(
        directory=root,
        suite=field("suite", "bookworm"),
        variant=field("variant", "minbase"),
        size=str(data.get("size", "4G")),
        hostname=field("hostname", "vdevice"),
        user=field("user", "ivv"),
        user_groups=tuple(field("user_groups", ["sudo", "video"], list)),
        packages=packages,
        files=optional_path("files"),
        customize=optional_path("customize"),
    )
