"""One trial: what was done (its spec, enough to replay it), what was seen (facts and measurements, each
for its criterion), and the device's state and journal when it failed.

Measurements are judged when the trial is made, with the threshold evidence will record them with
(`Limits`: the gate criterion's threshold, or a gate setting named by the measurement): the trial's pass
or fail and the recorded verdict come from the same threshold. A trial that could not decide (its cut
point never came, a positive control failed) says why and counts as no trial.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ivv.errors import GateError
from ivv.evidence.facts import Fact, Undecided
from ivv.evidence.thresholds import Threshold

SETTING_UNITS = {"s": "s", "ms": "ms", "min": "min", "pct": "%", "mb": "MB"}


class Limits:
    """Thresholds and settings from the gate only (a threshold typed in code is never used)."""

    def __init__(self, gates):
        self.gates = gates

    def setting(self, key: str, default=None):
        return self.gates.setting(key, default) if self.gates is not None else default

    def threshold(self, criterion: str, setting: str | None = None) -> Threshold:
        if setting is not None:
            value = self.setting(setting)
            if value is None:
                raise GateError(f"gate setting {setting!r} is not set in any loaded gate: the measurement judged by "
                                "it needs it there")
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                suffix = setting.rsplit("_", 1)[-1]
                if suffix not in SETTING_UNITS:
                    raise GateError(f"gate setting {setting!r}: a plain number needs a unit suffix on its key "
                                    f"({', '.join(SETTING_UNITS)}) or the form '<= 60 s'")
                return Threshold("<=", float(value), SETTING_UNITS[suffix])
            return Threshold.coerce(value)
        criterion_def = self.gates.get(criterion) if self.gates is not None else None
        if criterion_def is None or criterion_def.threshold is None:
            raise GateError(f"criterion {criterion!r} has no threshold in the loaded gates")
        return criterion_def.threshold


@dataclass(frozen=True)
class Measure:
    criterion: str
    name: str
    value: float | None
    unit: str
    setting: str | None
    threshold: Threshold

    @property
    def passed(self) -> bool:
        return self.value is not None and self.threshold.check(self.value, self.unit)


@dataclass
class Trial:
    criterion: str                     # the criterion the trial is run for
    number: int
    point: str                         # cut point, component or trigger
    spec: dict                         # what `ivv resilience replay` needs to run it again
    limits: Limits
    facts: list[Fact] = field(default_factory=list)
    measures: list[Measure] = field(default_factory=list)
    undecided: list[Undecided] = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    state_after: dict = field(default_factory=dict)
    journal: str = ""
    output: str = ""
    restored: dict = field(default_factory=dict)
    landed: dict = field(default_factory=dict)   # where a cut really fell: boundary, seconds, held or not

    # -- observations ----------------------------------------------------------------------------
    def fact(self, name: str, passed: bool, expected=None, observed=None, criterion: str | None = None,
             **details) -> bool:
        self.facts.append(Fact(name, bool(passed), expected, observed, details=details,
                               criterion=criterion or self.criterion))
        return bool(passed)

    def measure(self, name: str, value: float | None, unit: str = "s", setting: str | None = None,
                criterion: str | None = None) -> bool:
        criterion = criterion or self.criterion
        found = Measure(criterion, name, None if value is None else round(float(value), 3), unit, setting,
                        self.limits.threshold(criterion, setting))
        self.measures.append(found)
        if value is not None:
            self.timings[name] = found.value
        return found.passed

    def cannot_decide(self, name: str, reason: str, criterion: str | None = None) -> None:
        self.undecided.append(Undecided(name, reason, criterion=criterion or self.criterion))

    # -- outcome ---------------------------------------------------------------------------------
    def criteria(self) -> list[str]:
        seen = [x.criterion for x in [*self.facts, *self.measures, *self.undecided]]
        return list(dict.fromkeys([self.criterion, *seen]))

    def passed_for(self, criterion: str) -> bool | None:
        """True / False for `criterion`, None when the trial decided nothing for it."""
        if any(u.criterion == criterion for u in self.undecided):
            return None
        facts = [f for f in self.facts if f.criterion == criterion]
        measures = [m for m in self.measures if m.criterion == criterion]
        if not facts and not measures:
            return None
        return all(f.passed for f in facts) and all(m.passed for m in measures)

    def failures(self, criterion: str) -> list[str]:
        out = [f"{f.name}: expected {f.expected}, observed {f.observed}" for f in self.facts
               if f.criterion == criterion and not f.passed]
        out += [f"{m.name}: {m.value} {m.unit} against {m.threshold.text}" for m in self.measures
                if m.criterion == criterion and m.value is not None and not m.passed]
        return out

    def summary(self, criterion: str | None = None) -> dict:
        criterion = criterion or self.criterion
        return {"trial": self.number, "point": self.point, "passed": self.passed_for(criterion),
                "failures": self.failures(criterion), "timings": dict(self.timings),
                "undecided": [u.reason for u in self.undecided if u.criterion == criterion],
                "state_after": self.state_after, "spec": self.spec, "restored": self.restored,
                "landed": self.landed}
