"""Gates: YAML files listing criteria with thresholds, plus settings the suites read.

`load_gate(path)` validates one file; `GateSet` holds every gate of a run and answers the suites'
questions (`criterion(id)`, `setting("load.users", 10)`), so thresholds live in the gate, not the suites.
`GateSet.threshold(criterion, setting=None)` is the one place a measurement's threshold is found: the
named gate setting, else the criterion's own `threshold`; the evidence journal and the re-derivation of
verdicts both ask it. A gate's `regression:` limits become criteria `trend.<id>`, each with the limit
as its threshold (ivv.evidence.regression), judged against a baseline run (`ivv gate --baseline`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivv import resources
from ivv.config import loader as config
from ivv.errors import GateError
from ivv.evidence import regression
from ivv.evidence.thresholds import Threshold

GATES_DIR = Path("deployment") / "gates"
SHIPPED = ("cdr-deployment", "production-readiness", "resilience")
# Key suffix -> unit of a gate setting given as a plain number and used as a threshold.
SETTING_UNITS = {"s": "s", "ms": "ms", "min": "min", "mb": "MB", "pct": "%"}


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
    trace: tuple[str, ...] = ()           # requirement ids this criterion verifies (REQ-12, CDR-4.3)
    scope: str = "target"                 # "fleet": decided only by a fleet-wide record (ivv.evidence.verdicts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "requirement": self.requirement, "mandatory": self.mandatory,
            "suite": self.suite, "gate": self.gate, "threshold": self.threshold.to_dict() if self.threshold else None,
            "trace": list(self.trace), "scope": self.scope,
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
    regression: tuple[regression.Limit, ...] = ()


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
            source=raw.get("source"), trace=tuple(raw.get("trace") or ()), scope=raw.get("scope", "target"),
        ))
    limits = _regression_limits(path, lines, data, seen)
    criteria += [trend_criterion(limit, gate_id) for limit in limits]
    return Gate(
        id=gate_id, title=data["gate"]["title"], version=str(data["gate"].get("version", "")), path=path,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(), criteria=tuple(criteria),
        settings=data.get("settings") or {}, regression=tuple(limits),
    )


def _regression_limits(path: Path, lines, data: dict, seen: dict) -> list[regression.Limit]:
    limits = []
    for cid, spec in (data.get("regression") or {}).items():
        where = config.location(path, lines, ("regression", cid))
        if cid not in seen:
            raise GateError(f"{where}: regression.{cid}: no criterion {cid!r} in this gate; a regression limit "
                            "watches one of the gate's own measured criteria")
        if f"trend.{cid}" in seen:
            raise GateError(f"{where}: regression.{cid}: criterion 'trend.{cid}' is already defined by the gate")
        try:
            limits.append(regression.parse(cid, spec))
        except regression.LimitError as exc:
            raise GateError(f"{where}: {exc}") from None
    return limits


# Regression limits are judged by ivv itself against the baseline (ivv.evidence.baseline), not by a suite.
TREND_SUITE = "trend"


def trend_criterion(limit: regression.Limit, gate_id: str) -> Criterion:
    """The criterion a regression limit becomes: its threshold is the limit."""
    return Criterion(id=limit.trend_id, title=f"No regression of {limit.criterion} against the baseline",
                     requirement=f"{limit.describe()} (limit {limit.text}, judged against the baseline run "
                                 "given to ivv gate --baseline)", mandatory=limit.mandatory, suite=TREND_SUITE,
                     gate=gate_id, threshold=limit.threshold(), source="the gate's regression limits")


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

    @property
    def regression(self) -> list[regression.Limit]:
        """Every gate's regression limits (the criteria `trend.*` judge)."""
        return [limit for gate in self.gates for limit in gate.regression]

    def threshold(self, criterion_id: str, setting: str | None = None) -> Threshold:
        """A measurement's threshold: the gate setting `setting` names, else the criterion's own. GateError
        when neither exists: a measurement nothing in the gate can decide is a configuration error."""
        if setting is not None:
            return self.setting_threshold(setting)
        known = self.get(criterion_id)
        if known is not None and known.threshold is not None:
            return known.threshold
        where = f"criterion {criterion_id!r} has no `threshold`" if known else \
            f"criterion {criterion_id!r} is in no loaded gate ({self._names()})"
        raise GateError(f"{where}: a measurement needs its threshold from the gate (add one to the criterion, "
                        "or name a gate setting with setting='suite.key')")

    def setting_threshold(self, key: str) -> Threshold:
        """A gate setting used as a threshold: `{op, value, unit}`, text `"<= 60 s"`, or a plain number,
        which is an upper bound (`<=`) in the unit its key ends with (`start_to_ready_s` -> s)."""
        value = self.setting(key)
        if value is None:
            raise GateError(f"gate setting {key!r} is not set in any loaded gate ({self._names()}); a measurement "
                            "judged by it needs it there")
        try:
            if isinstance(value, bool):
                raise ValueError("a yes/no value is not a threshold")
            if isinstance(value, (int, float)):
                unit = key.rsplit("_", 1)[-1] if "_" in key.rsplit(".", 1)[-1] else ""
                if unit not in SETTING_UNITS:
                    raise ValueError(f"a plain number needs a unit suffix on its key (one of {', '.join(SETTING_UNITS)})"
                                     " or the form {op, value, unit}")
                return Threshold("<=", float(value), SETTING_UNITS[unit])
            return Threshold.coerce(value)
        except (ValueError, KeyError, TypeError) as exc:
            raise GateError(f"gate setting {key!r} = {value!r} is not a threshold: {exc}") from None

    def _names(self) -> str:
        return ", ".join(str(g.path) for g in self.gates) or "no gate loaded"

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
