"""Gates: YAML files listing criteria with thresholds, plus settings the suites read.

`load_gate(path)` validates one file; `GateSet` holds every gate of a run and answers the suites'
questions (`criterion(id)`, `setting("load.users", 10)`), so thresholds live in the gate, not the suites.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivv import resources
from ivv.config import loader as config
from ivv.errors import GateError
from ivv.evidence.thresholds import Threshold

GATES_DIR = Path("deployment") / "gates"
SHIPPED = ("cdr-deployment", "production-readiness", "resilience")


@dataclass(frozen=True)
class Criterion:
    id: str
    title: str
    requirement: str
    mandatory: bool
    suite: str
    gate: str
    threshold: Threshold | None = None
    stop_on_fail: bool = False
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "requirement": self.requirement, "mandatory": self.mandatory,
            "suite": self.suite, "gate": self.gate, "threshold": self.threshold.to_dict() if self.threshold else None,
        }


@dataclass(frozen=True)
class Gate:
    id: str
    title: str
    version: str
    path: Path
    sha256: str
    criteria: tuple[Criterion, ...]
    settings: dict[str, Any] = field(default_factory=dict)


def resolve(name_or_path: str | Path, root: Path | None = None) -> Path:
    """A gate given by file path, or by name (`cdr-deployment` -> deployment/gates/cdr-deployment.yaml)."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    candidates = [(root or Path.cwd()) / GATES_DIR / f"{name_or_path}.yaml",
                  resources.deployment("gates", f"{name_or_path}.yaml")]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise GateError(f"gate {name_or_path!r}: no file {candidates[0]} (give a path or a name under {GATES_DIR})")


def load_gate(path: str | Path) -> Gate:
    path = Path(path)
    data, lines = config.load(path, "gate", GateError)
    gate_id = data["gate"]["id"]
    criteria, seen = [], {}
    for index, raw in enumerate(data["criteria"]):
        if raw["id"] in seen:
            where = config.location(path, lines, ("criteria", index, "id"))
            raise GateError(f"{where}: criteria[{index}].id: {raw['id']!r} is already used by criteria[{seen[raw['id']]}]; "
                            "expected a unique criterion id")
        seen[raw["id"]] = index
        threshold = Threshold.coerce(raw.get("threshold"))
        criteria.append(Criterion(
            id=raw["id"], title=raw["title"], requirement=raw["requirement"], mandatory=raw["mandatory"],
            suite=raw["suite"], gate=gate_id, threshold=threshold, stop_on_fail=raw.get("stop_on_fail", False),
            source=raw.get("source"),
        ))
    return Gate(
        id=gate_id, title=data["gate"]["title"], version=str(data["gate"].get("version", "")), path=path,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(), criteria=tuple(criteria),
        settings=data.get("settings") or {},
    )


class GateSet:
    """Every gate loaded for a run; criterion ids are unique across them."""

    def __init__(self, gates: list[Gate] | tuple[Gate, ...] = ()):
        self.gates = tuple(gates)
        self._criteria: dict[str, Criterion] = {}
        for gate in self.gates:
            for criterion in gate.criteria:
                if criterion.id in self._criteria:
                    other = self._criteria[criterion.id].gate
                    raise GateError(f"{gate.path}: criterion {criterion.id!r} is also defined by gate {other!r}; "
                                    "expected criterion ids unique across the gates of a run")
                self._criteria[criterion.id] = criterion

    @classmethod
    def load(cls, names_or_paths, root: Path | None = None) -> GateSet:
        return cls([load_gate(resolve(item, root)) for item in names_or_paths])

    def __bool__(self) -> bool:
        return bool(self.gates)

    def __contains__(self, criterion_id: str) -> bool:
        return criterion_id in self._criteria

    @property
    def criteria(self) -> list[Criterion]:
        return list(self._criteria.values())

    def criterion(self, criterion_id: str) -> Criterion:
        try:
            return self._criteria[criterion_id]
        except KeyError:
            known = ", ".join(sorted(self._criteria)) or "none (no gate loaded)"
            raise GateError(f"criterion {criterion_id!r} is in no loaded gate; known: {known}") from None

    def get(self, criterion_id: str) -> Criterion | None:
        return self._criteria.get(criterion_id)

    def setting(self, key: str, default: Any = None) -> Any:
        """A dotted setting (`load.users`) from the first gate that defines it, else `default`."""
        for gate in self.gates:
            value: Any = gate.settings
            for part in key.split("."):
                if not isinstance(value, dict) or part not in value:
                    break
                value = value[part]
            else:
                return value
        return default
