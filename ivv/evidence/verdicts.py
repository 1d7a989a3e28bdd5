"""Derive criterion verdicts and the gate decision from evidence records. Pure: same input, same output.

Per criterion: FAIL if any record failed; else NOT VERIFIED if nothing passed or anything is a gap
(including a test that started but never finished); else PASS. An active waiver turns FAIL or
NOT VERIFIED into WAIVED; an expired one covers nothing and the reason says so.
Decision: PROCEED (every mandatory criterion PASS), PROCEED WITH CONDITIONS (every mandatory shortfall
waived), HOLD otherwise.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from ivv.config import waivers as waiver_lib
from ivv.evidence.journal import FAIL, NOT_VERIFIED, PASS, WAIVED, Record
from ivv.evidence.verdict import Decision

PROCEED, CONDITIONS, HOLD = Decision.PROCEED, Decision.CONDITIONS, Decision.HOLD
EXIT_CODES = {PROCEED: 0, CONDITIONS: 0, HOLD: 1}


def exit_code(decision: str) -> int:
    return EXIT_CODES[decision]


def exit_status(verdicts: dict) -> int:
    """Exit status of a gate run: 2 when the harness could not run some test, else by the decision."""
    return 2 if verdicts.get("harness_errors") else exit_code(verdicts["decision"])


def value_text(record: Record) -> str:
    """`12.3 ms`, `True`, or the observed value of a check."""
    if record.kind == "measurement":
        value = record.value
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        return f"{shown} {record.unit}".strip() if record.unit else shown
    if record.kind == "check":
        return "yes" if record.verdict == PASS else f"no (observed {record.observed!r})" if record.observed is not None else "no"
    return record.reason or ""


def _unfinished_tests(records: list[Record]) -> dict[str, list[str]]:
    """Tests that recorded a start but no outcome (the run died): node id -> their criteria."""
    open_tests: Counter = Counter()
    criteria: dict[str, list[str]] = {}
    for record in records:
        if record.kind != "test":
            continue
        if record.value == "started":
            open_tests[record.test] += 1
            criteria[record.test] = list((record.details or {}).get("criteria", []))
        else:
            open_tests[record.test] -= 1
    return {test: criteria.get(test, []) for test, count in open_tests.items() if count > 0}


def _criterion_verdict(cid: str, own: list[Record], unfinished: list[str]) -> tuple[str, str]:
    failed = [r for r in own if r.verdict == FAIL]
    passed = [r for r in own if r.verdict == PASS]
    gaps = [r for r in own if r.kind == "gap"]
    if failed:
        r = failed[0]
        more = f" (and {len(failed) - 1} more failing records)" if len(failed) > 1 else ""
        if r.kind == "measurement":
            limit = (r.threshold or {}).get("text", "?")
            return FAIL, f"{r.name}: measured {value_text(r)}, required {limit}{more}."
        observed = f" (expected {r.expected!r}, observed {r.observed!r})" if r.expected is not None else ""
        return FAIL, f"{r.name} failed{observed}{more}."
    if unfinished:
        return NOT_VERIFIED, f"the run ended before {unfinished[0]} finished."
    if gaps:
        return NOT_VERIFIED, f"{gaps[0].reason}."
    if not passed:
        return NOT_VERIFIED, "no test measured it."
    if len(passed) == 1:
        r = passed[0]
        limit = f" (required {(r.threshold or {}).get('text')})" if r.kind == "measurement" else ""
        return PASS, f"{r.name}: {value_text(r)}{limit}."
    return PASS, f"all {len(passed)} records pass."


def _some(ids: list[str], shown: int = 6) -> str:
    """A short list of ids for a one-sentence reason; the full list is in the criteria table."""
    return ", ".join(ids) if len(ids) <= shown else f"{', '.join(ids[:shown])} and {len(ids) - shown} more"


def _decide(entries: dict[str, dict], ids: list[str]) -> tuple[str, str]:
    mandatory = [cid for cid in ids if entries[cid]["mandatory"]]
    if not mandatory:
        return HOLD, "No mandatory criterion was defined or measured, so nothing supports proceeding."
    short = [cid for cid in mandatory if entries[cid]["verdict"] != PASS]
    if not short:
        return PROCEED, f"All {len(mandatory)} mandatory criteria PASS on measured evidence."
    unwaived = [cid for cid in short if entries[cid]["verdict"] != WAIVED]
    if not unwaived:
        return CONDITIONS, (f"{len(mandatory) - len(short)} of {len(mandatory)} mandatory criteria PASS and the "
                            f"other {len(short)} ({', '.join(short)}) are waived.")
    failed = [cid for cid in unwaived if entries[cid]["verdict"] == FAIL]
    unverified = [cid for cid in unwaived if entries[cid]["verdict"] == NOT_VERIFIED]
    parts = []
    if failed:
        parts.append(f"{len(failed)} FAIL ({_some(failed)})")
    if unverified:
        parts.append(f"{len(unverified)} NOT VERIFIED ({_some(unverified)})")
    return HOLD, f"{len(unwaived)} of {len(mandatory)} mandatory criteria are not met: {'; '.join(parts)}."


def derive(records: list[Record], gates=None, waivers=(), today: date | None = None) -> dict[str, Any]:
    """verdicts.json content from records, the run's GateSet (or None) and waivers, as of `today`."""
    today = today or date.today()
    criteria = list(gates.criteria) if gates else []
    known = {c.id for c in criteria}
    adhoc = sorted({r.criterion for r in records if r.criterion and r.criterion not in known})
    unfinished = _unfinished_tests(records)
    entries: dict[str, dict] = {}
    order = [(c.id, c) for c in criteria] + [(cid, None) for cid in adhoc]
    for cid, crit in order:
        own = [r for r in records if r.criterion == cid and r.kind != "test"]
        stalled = [test for test, ids in unfinished.items() if cid in ids]
        verdict, reason = _criterion_verdict(cid, own, stalled)
        entry = {
            "verdict": verdict, "reason": reason, "evidence": [r.seq for r in own],
            "title": crit.title if crit else cid, "mandatory": crit.mandatory if crit else True,
            "gate": crit.gate if crit else None, "suite": crit.suite if crit else (own[0].suite if own else None),
            "threshold": crit.threshold.to_dict() if crit and crit.threshold else None,
            "in_gate": crit is not None, "waiver": None, "expired_waivers": [],
        }
        active, expired = waiver_lib.find(waivers, cid, today)
        entry["expired_waivers"] = [w.to_dict() for w in expired]
        if verdict in (FAIL, NOT_VERIFIED) and active is not None:
            entry["waiver"] = active.to_dict()
            entry["underlying"] = verdict
            entry["verdict"] = WAIVED
            entry["reason"] = (f"{verdict} waived by {active.owner} until {active.expires.isoformat()} "
                               f"({active.reason.rstrip('.')}); underlying: {reason}")
        elif verdict in (FAIL, NOT_VERIFIED) and expired:
            entry["reason"] = f"{reason.rstrip('.')}; the waiver expired on {expired[0].expires.isoformat()}."
        entries[cid] = entry
    gate_out = {}
    for gate in (gates.gates if gates else ()):
        ids = [c.id for c in gate.criteria]
        decision, reason = _decide(entries, ids)
        gate_out[gate.id] = {"decision": decision, "reason": reason, "criteria": ids}
    decision, reason = _decide(entries, [c.id for c in criteria] if criteria else list(entries))
    harness_errors = sorted({(r.details or {}).get("harness_error") for r in records
                             if r.kind == "gap" and (r.details or {}).get("harness_error")})
    if harness_errors:
        reason = f"{reason.rstrip('.')}; the harness could not run some tests ({harness_errors[0]})."
    return {"decision": decision, "reason": reason, "date": today.isoformat(), "criteria": entries,
            "gates": gate_out, "harness_errors": harness_errors}
