"""Which measurement decides a criterion on a target (the binding value), its repeats, and outliers.

- **Binding**: the worst failing measurement; else the first failing check; else the worst measurement
  (for `<`/`<=` the largest value, for `>`/`>=` the smallest: the least headroom to the threshold);
  else none (only passing checks, or gaps: nothing numeric decides).
- **Repeats**: measurements of one criterion on one target belong together when they name the same
  `details.repeat_of` (`evidence.measure(..., repeat_of="rollback time")`), or, without it, carry the
  same name (the same measurement taken again). `repeats` summarises the binding record's set:
  n, min, median, max in its unit (null when the set has one member).
- **Outlier**: in a set of repeats, a value over 3x the set's median is a finding, whatever the verdict.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable

from ivv.evidence.journal import Record
from ivv.evidence.thresholds import convert
from ivv.evidence.verdict import Verdict

OUTLIER_FACTOR = 3.0


def headroom(record: Record) -> float:
    """How far a measurement is from failing, relative to its threshold (negative: it fails)."""
    limit = record.threshold or {}
    try:
        value = convert(float(record.value), record.unit, limit.get("unit"))
        bound = float(limit["value"])
    except (KeyError, TypeError, ValueError):
        return float("-inf")
    scale = abs(bound) or 1.0
    op = limit.get("op")
    if op in ("<", "<="):
        return (bound - value) / scale
    if op in (">", ">="):
        return (value - bound) / scale
    return -abs(value - bound) / scale


def repeat_key(record: Record) -> str:
    return str((record.details or {}).get("repeat_of") or record.name)


def binding(records: Iterable[Record]) -> Record | None:
    own = list(records)
    measured = [r for r in own if r.kind == "measurement"]
    failing = [r for r in measured if r.verdict == Verdict.FAIL]
    if failing:
        return min(failing, key=lambda r: (headroom(r), r.seq))
    failed_check = next((r for r in own if r.kind == "check" and r.verdict == Verdict.FAIL), None)
    if failed_check is not None:
        return failed_check
    return min(measured, key=lambda r: (headroom(r), r.seq)) if measured else None


def groups(records: Iterable[Record]) -> dict[str, list[Record]]:
    out: dict[str, list[Record]] = {}
    for record in records:
        if record.kind == "measurement":
            out.setdefault(repeat_key(record), []).append(record)
    return out


def _values(members: list[Record], unit: str | None) -> list[float]:
    out = []
    for r in members:
        try:
            out.append(convert(float(r.value), r.unit, unit))
        except (TypeError, ValueError):
            continue
    return out


def repeats(records: Iterable[Record], bound: Record | None) -> dict | None:
    """min/median/max of the binding record's set of repeats, or None for a single measurement."""
    if bound is None or bound.kind != "measurement":
        return None
    key = repeat_key(bound)
    members = groups(records).get(key, [])
    values = _values(members, bound.unit)
    if len(values) < 2:
        return None
    return {"name": key, "n": len(values), "min": min(values), "median": statistics.median(values),
            "max": max(values), "unit": bound.unit}


def outliers(records: Iterable[Record], target: str | None = None) -> list[dict]:
    """Findings for every repeat over 3x the median of its set (sets of three or more)."""
    findings = []
    on = f" on {target}" if target else ""
    for key, members in groups(records).items():
        unit = members[0].unit
        values = _values(members, unit)
        if len(values) < 3 or len(values) != len(members):
            continue
        median = statistics.median(values)
        if median <= 0:
            continue
        for record, value in zip(members, values, strict=True):
            if value > OUTLIER_FACTOR * median:
                findings.append({"kind": "outlier", "records": [record.seq],
                                 "text": f"{key!r}{on}: {value:.4g} {unit or ''} in record {record.seq} is over "
                                         f"{OUTLIER_FACTOR:g}x the median {median:.4g} {unit or ''} of its "
                                         f"{len(values)} repeats".replace("  ", " ")})
    return findings
