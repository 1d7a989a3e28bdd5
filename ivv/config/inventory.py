"""Inventory YAML (deployment/inventory/*.yaml) -> targets.

Validated with ivv/schemas/inventory.schema.json; every error names the file, the line, the field and
what was expected. The `local` target is always available by name, even when the file does not list it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from ivv import resources
from ivv.config import loader
from ivv.errors import InventoryError
from ivv.targets.base import Target, create_target, target_kinds

DEFAULT_INVENTORY = resources.deployment("inventory", "vdevice.yaml")
IMPLICIT_LOCAL = {"name": "local", "kind": "local", "environment": "local", "tags": ["local"]}
_NOT_TARGET_OPTIONS = ("name", "kind", "description")


def schema() -> dict:
    return loader.schema("inventory")


def _field(path: list) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _line(node: yaml.Node | None, path: list) -> int | None:
    """1-based line of the YAML node at `path` (or of its nearest existing parent)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            node = None
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def _expectation(error: jsonschema.ValidationError) -> str:
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
        return [name for name in self.entries if name != "local" or "local" in self._listed]

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
            self.entry(name)
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
    try:
        text = path.read_text()
    except OSError as exc:
        raise InventoryError(f"{path}: cannot read inventory: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
        root_node = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise InventoryError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        raise InventoryError(f"{path}: empty inventory: 'targets' is required (a list of devices)")

    errors = sorted(jsonschema.Draft202012Validator(schema()).iter_errors(data),
                    key=lambda e: (list(map(str, e.absolute_path)), e.validator))
    if errors:
        lines = []
        for error in errors[:10]:
            where = list(error.absolute_path)
            line = _line(root_node, where)
            lines.append(f"{path}:{line}: {_field(where)}: {_expectation(error)}" if line
                         else f"{path}: {_field(where)}: {_expectation(error)}")
        raise InventoryError("invalid inventory:\n  " + "\n  ".join(lines))

    defaults = data.get("defaults", {})
    kinds = target_kinds()
    entries: dict[str, dict[str, Any]] = {}
    for index, raw in enumerate(data["targets"]):
        where = f"targets[{index}]"
        line = _line(root_node, ["targets", index])
        if raw["name"] in entries:
            raise InventoryError(f"{path}:{line}: {where}.name: duplicate target name '{raw['name']}'")
        if raw["kind"] not in kinds:
            raise InventoryError(f"{path}:{_line(root_node, ['targets', index, 'kind'])}: {where}.kind: "
                                 f"unknown kind '{raw['kind']}' (expected one of: {', '.join(sorted(kinds))})")
        entry = dict(raw)
        if entry["kind"] == "ssh":
            for key, value in defaults.items():
                entry.setdefault(key, value)
            if "user" not in entry:
                raise InventoryError(f"{path}:{line}: {where}.user: is required for kind ssh "
                                     f"(set it on the target or in defaults.user)")
            if "key" in entry:
                entry["key"] = _readable_key(path, root_node, index, entry["key"], "key" in raw)
        else:
            entry.setdefault("environment", defaults.get("environment", "staging"))
        if entry.get("tls", {}).get("ca_file"):
            entry["tls"] = dict(entry["tls"], ca_file=_readable_ca(path, root_node, index, entry["tls"]["ca_file"]))
        if entry["kind"] == "qemu" and "recipe" in entry:
            entry["recipe"] = str((path.parent / entry["recipe"]).resolve())
        entries[entry["name"]] = entry
    entries.setdefault("local", dict(IMPLICIT_LOCAL, _implicit=True))
    return Inventory(path, entries)


def _beside(path: Path, value: str) -> Path:
    """A file named in the inventory: `~` expanded, relative paths taken from the inventory's folder."""
    named = Path(value).expanduser()
    return named if named.is_absolute() else path.parent / named


def _readable_ca(path: Path, root_node: yaml.Node, index: int, ca_file: str) -> str:
    ca_path = _beside(path, ca_file)
    field_path = ["targets", index, "tls", "ca_file"]
    try:
        text = ca_path.read_text(errors="replace")
    except OSError as exc:
        raise InventoryError(f"{path}:{_line(root_node, field_path)}: {_field(field_path)}: cannot read CA bundle "
                             f"{ca_path} ({exc.strerror}); expected a PEM file of the CA clients trust") from exc
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise InventoryError(f"{path}:{_line(root_node, field_path)}: {_field(field_path)}: {ca_path} holds no "
                             f"PEM certificate (expected -----BEGIN CERTIFICATE-----)")
    return str(ca_path.resolve())


def _readable_key(path: Path, root_node: yaml.Node, index: int, key: str, own: bool) -> str:
    key_path = _beside(path, key)
    field_path = ["targets", index, "key"] if own else ["defaults", "key"]
    try:
        with open(key_path, "rb"):
            pass
    except OSError as exc:
        raise InventoryError(f"{path}:{_line(root_node, field_path)}: {_field(field_path)}: cannot read SSH key "
                             f"{key_path} for target targets[{index}] ({exc.strerror}); expected a readable "
                             f"private key file") from exc
    return str(key_path)
