"""Every record's verdict, recomputed from what it holds; the stored verdict is checked, never trusted.

A measurement is judged again by the gate's threshold (the bundle's gate copy: the criterion's own, or the
setting the record names in `threshold.setting`), a check by its `value` (True is PASS), a gap is always
NOT VERIFIED. A stored verdict or threshold that disagrees is a `Problem` (a tamper finding), and the
recomputed verdict is what counts. Pure: records and gates in, records and problems out.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import replace

from ivv.config.gates import GateSet
from ivv.errors import ConfigError
from ivv.evidence.integrity import Problem
from ivv.evidence.journal import Record
from ivv.evidence.thresholds import Threshold
from ivv.evidence.verdict import Verdict


def rederive(records: list[Record], gates: GateSet | None, chained: bool = True) -> tuple[list[Record], list[Problem]]:
    """(records with recomputed verdicts, problems). `chained=False` (a bundle from before format 2):
    a measurement whose criterion the gates do not know keeps the threshold it was recorded with."""
    gates = gates if gates is not None else GateSet()
    out, problems = [], []
    for record in records:
        verdict, basis, why = _rederived(record, gates, chained)
        if why:
            problems.append(Problem(f"{_name(record)}: {why}", record.seq, record.criterion))
        if verdict is not None and record.verdict != verdict:
            problems.append(Problem(f"{_name(record)}: stored verdict {record.verdict}, but {basis} is {verdict}",
                                    record.seq, record.criterion))
            record = replace(record, verdict=verdict)
        out.append(record)
    return out, problems


def _rederived(record: Record, gates: GateSet, chained: bool) -> tuple[Verdict | None, str, str | None]:
    """(verdict, what it rests on, a problem with the threshold or None); verdict None for test records."""
    if record.kind == "check":
        return (Verdict.PASS if record.value is True else Verdict.FAIL), f"its value {record.value!r}", None
    if record.kind == "gap":
        return Verdict.NOT_VERIFIED, "a gap", None
    if record.kind != "measurement":
        return None, "", None
    stored = record.threshold or {}
    try:
        limit = gates.threshold(record.criterion, stored.get("setting"))
    except ConfigError:
        if chained or not stored:
            return Verdict.NOT_VERIFIED, "a measurement no gate threshold judges", \
                "its threshold is in no gate of the bundle, so nothing can judge it"
        limit = Threshold.from_dict(stored)
    why = f"recorded against {stored.get('text') or stored}, but the gate says {limit.text}" \
        if _differs(stored, limit) else None
    value = f"{record.value} {record.unit or ''}".strip()
    return _judge(record, limit), f"{value} against {limit.text}", why


def _judge(record: Record, limit: Threshold) -> Verdict:
    value = record.value
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        return Verdict.FAIL
    try:
        return Verdict.PASS if limit.check(value, record.unit or limit.unit) else Verdict.FAIL
    except ValueError:  # a unit the threshold's cannot be compared with
        return Verdict.FAIL


def _differs(stored: dict, limit: Threshold) -> bool:
    try:
        return Threshold.from_dict(stored) != limit
    except (KeyError, TypeError, ValueError):
        return True


def _name(record: Record) -> str:
    return f"record {record.seq} ({record.criterion}: {record.name})"
