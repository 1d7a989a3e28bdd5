"""Inventory YAML (deployment/inventory/*.yaml) -> targets.

Validated with ivv/config/schemas/inventory.schema.json; every error names the file, the line, the field and
what was expected. The `local` target is always available by name, even when the file does not list it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from ivv import resources
from ivv.config import loader
from ivv.errors import InventoryError
from ivv.targets.base import Target, create_target, target_kinds

DEFAULT_INVENTORY = resources.deployment("inventory", "vdevice.yaml")
IMPLICIT_LOCAL = {"name": "local", "kind": "local", "environment": "local", "tags": ["local"]}
# Entry fields about the device's place in a run, not options of its kind: read from the entry itself.
_NOT_TARGET_OPTIONS = ("name", "kind", "description", "role", "loadgen")
LOADGEN = "loadgen"


def schema() -> dict:
    return loader.schema("inventory")


def _expectation(error: jsonschema.ValidationError) -> str:
    """Inventory wording for a schema violation."""
    if error.validator == "required":
        return error.message.replace("is a required property", "is required")
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return f"{error.message} (allowed: {allowed})"
    if error.validator in ("minimum", "maximum", "type") and "port" in map(str, error.absolute_path):
        return f"expected an integer port 1-65535, got {error.instance!r}"
    if error.validator == "not" and "tls" in map(str, error.absolute_path):
        return "give either ca_file (the CA clients trust) or lab_ca: true (the harness issues one), not both"
    return error.message


@dataclass
class Inventory:
    """A validated inventory file: its targets as dicts of options, created on demand."""

    path: Path
    entries: dict[str, dict[str, Any]]

    def names(self) -> list[str]:
        """The devices under test (every listed target but load generators)."""
        return [name for name, entry in self.entries.items()
                if (name != "local" or "local" in self._listed) and entry.get("role") != LOADGEN]

    def loadgens(self) -> list[str]:
        """Hosts with `role: loadgen`: they run Locust workers, they are never tested."""
        return [name for name, entry in self.entries.items() if entry.get("role") == LOADGEN]

    def destructive(self, name: str) -> bool:
        """May the run reinstall and roll back this device (`destructive`, default true)? Power cuts, a full disk
        and a removed camera also need an explicit `destructive: true` (ivv.resilience.power)."""
        return bool(self.entry(name).get("destructive", True))

    @property
    def _listed(self) -> set[str]:
        return {n for n, e in self.entries.items() if not e.get("_implicit")}

    def entry(self, name: str) -> dict[str, Any]:
        if name not in self.entries:
            known = ", ".join(self.names()) or "(none)"
            raise InventoryError(f"{self.path}: no target named '{name}' (targets in this file: {known}; "
                                 f"'local' is always available)")
        return self.entries[name]

    def select(self, names: list[str] | None) -> list[str]:
        """The names asked for (validated), or every listed target when none are asked for."""
        if not names:
            return self.names()
        for name in names:
            if self.entry(name).get("role") == LOADGEN:
                raise InventoryError(f"{self.path}: target '{name}' has role loadgen: it runs load workers and is "
                                     f"not a device under test (devices: {', '.join(self.names()) or '(none)'})")
        return list(dict.fromkeys(names))

    def create(self, name: str, **overrides: Any) -> Target:
        entry = self.entry(name)
        options = {k: v for k, v in entry.items() if k not in _NOT_TARGET_OPTIONS and not k.startswith("_")}
        if "tags" in options:
            options["tags"] = tuple(options["tags"])
        options.update(overrides)
        return create_target(entry["kind"], name, **options)


def load_inventory(path: str | Path | None = None) -> Inventory:
    """Read and validate an inventory file; InventoryError (exit 2) names file, line and field."""
    path = Path(path or os.environ.get("IVV_INVENTORY") or DEFAULT_INVENTORY).expanduser().resolve()
    if not path.is_file():
        raise InventoryError(f"{path}: cannot read inventory: {'not a file' if path.exists() else 'no such file'}")
    data, lines = loader.read_yaml(path, InventoryError)
    if data is None:
        raise InventoryError(f"{path}: empty inventory: 'targets' is required (a list of devices)")
    loader.validate(data, "inventory", path, lines, InventoryError, describe=_expectation, limit=10)

    defaults = data.get("defaults", {})
    kinds = target_kinds()
    entries: dict[str, dict[str, Any]] = {}
    for index, raw in enumerate(data["targets"]):
        place = Place(path, lines, index)
        if raw["name"] in entries:
            raise InventoryError(f"{place.at()}: {place.field()}.name: duplicate target name '{raw['name']}'")
        if raw["kind"] not in kinds:
            raise InventoryError(f"{place.at('kind')}: {place.field('kind')}: unknown kind '{raw['kind']}' "
                                 f"(expected one of: {', '.join(sorted(kinds))})")
        entry = kinds[raw["kind"]].inventory_entry(dict(raw), defaults, place)
        if entry.get("tls", {}).get("ca_file"):
            entry["tls"] = dict(entry["tls"], ca_file=place.readable_ca(entry["tls"]["ca_file"]))
        entries[entry["name"]] = entry
    entries.setdefault("local", dict(IMPLICIT_LOCAL, _implicit=True))
    return Inventory(path, entries)


@dataclass(frozen=True)
class Place:
    """Where one target entry sits in its inventory file: for error messages and for files it names."""

    path: Path
    lines: dict
    index: int

    def at(self, *parts) -> str:
        return loader.location(self.path, self.lines, ("targets", self.index, *parts))

    def field(self, *parts) -> str:
        return loader.field_path(("targets", self.index, *parts))

    def beside(self, value: str) -> Path:
        """A file named in the inventory: `~` expanded, relative paths taken from the inventory's folder."""
        named = Path(value).expanduser()
        return named if named.is_absolute() else self.path.parent / named

    def readable_ca(self, ca_file: str) -> str:
        ca_path = self.beside(ca_file)
        try:
            text = ca_path.read_text(errors="replace")
        except OSError as exc:
            raise InventoryError(f"{self.at('tls', 'ca_file')}: {self.field('tls', 'ca_file')}: cannot read CA "
                                 f"bundle {ca_path} ({exc.strerror}); expected a PEM file of the CA clients trust"
                                 ) from exc
        if "-----BEGIN CERTIFICATE-----" not in text:
            raise InventoryError(f"{self.at('tls', 'ca_file')}: {self.field('tls', 'ca_file')}: {ca_path} holds no "
                                 f"PEM certificate (expected -----BEGIN CERTIFICATE-----)")
        return str(ca_path.resolve())

    def readable_key(self, key: str, own: bool) -> str:
        """An SSH key file named by the entry (`own`) or by `defaults.key`, readable, as a path."""
        key_path = self.beside(key)
        at = self.at("key") if own else loader.location(self.path, self.lines, ("defaults", "key"))
        field = self.field("key") if own else "defaults.key"
        try:
            with open(key_path, "rb"):
                pass
        except OSError as exc:
            raise InventoryError(f"{at}: {field}: cannot read SSH key {key_path} for target targets[{self.index}] "
                                 f"({exc.strerror}); expected a readable private key file") from exc
        return str(key_path)
