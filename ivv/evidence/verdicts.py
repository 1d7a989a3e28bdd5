"""Derive criterion verdicts and the gate decision from evidence records. Pure: same input, same output.

Every record's verdict is first recomputed (`ivv.evidence.rederive`): a stored verdict is checked, never
trusted. Then per criterion and per target: FAIL if any record failed; else NOT VERIFIED if nothing
passed or anything is a gap (a test that started but never finished, a deselected test); else PASS. An
active waiver (for that target, or for every target) turns FAIL or NOT VERIFIED into WAIVED; an expired
one covers nothing and the reason says so. The criterion takes the worst of its targets (FAIL > NOT
VERIFIED > WAIVED > PASS). Records without a target concern every target of the criterion; a criterion
of `scope: fleet` PASSes only with such a fleet-wide record (one device cannot show a fleet converged). In a fleet
(`fleet=`: the targets of a merged run) every criterion is decided on every fleet target, so a device on
which nothing was measured is NOT VERIFIED there, never left out of the decision.
Decision: PROCEED (every mandatory criterion PASS), PROCEED WITH CONDITIONS (every mandatory shortfall
waived), HOLD otherwise, and HOLD whenever the bundle was altered. The output is verdicts.json, format 2.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from ivv.config import waivers as waiver_lib
from ivv.evidence import binding as binding_lib
from ivv.evidence.integrity import ALTERED, UNCHAINED, Integrity
from ivv.evidence.journal import Record
from ivv.evidence.rederive import rederive
from ivv.evidence.verdict import Decision, Verdict

PASS, FAIL, NOT_VERIFIED, WAIVED = Verdict.PASS, Verdict.FAIL, Verdict.NOT_VERIFIED, Verdict.WAIVED
PROCEED, CONDITIONS, HOLD = Decision.PROCEED, Decision.CONDITIONS, Decision.HOLD
FORMAT = 2
NO_TARGET = "(no target)"


def value_text(record: Record) -> str:
    """`12.3 ms`, `True`, or the observed value of a check."""
    if record.kind == "measurement":
        value = record.value
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        return f"{shown} {record.unit}".strip() if record.unit else shown
    if record.kind == "check":
        return "yes" if record.verdict == PASS else f"no (observed {record.observed!r})" if record.observed is not None else "no"
    return record.reason or ""


def _unfinished_tests(records: list[Record]) -> dict[str, tuple[list[str], str | None]]:
    """Tests that recorded a start but no outcome (the run died): node id -> (criteria, target)."""
    open_tests: Counter = Counter()
    started: dict[str, tuple[list[str], str | None]] = {}
    for record in records:
        if record.kind != "test":
            continue
        if record.value == "started":
            open_tests[record.test] += 1
            started[record.test] = (list((record.details or {}).get("criteria", [])), record.target)
        else:
            open_tests[record.test] -= 1
    return {test: started[test] for test, count in open_tests.items() if count > 0 and test in started}


def _limit(record: Record) -> str:
    return (record.threshold or {}).get("text", "?")


def _bucket_verdict(own: list[Record], unfinished: list[str], bound: Record | None) -> tuple[Verdict, str]:
    failed = [r for r in own if r.verdict == FAIL]
    passed = [r for r in own if r.verdict == PASS]
    gaps = [r for r in own if r.kind == "gap"]
    if failed:
        r = bound if bound is not None and bound.verdict == FAIL else failed[0]
        more = f" (and {len(failed) - 1} more failing records)" if len(failed) > 1 else ""
        if r.kind == "measurement":
            return FAIL, f"{r.name}: measured {value_text(r)}, required {_limit(r)}{more}."
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
        limit = f" (required {_limit(r)})" if r.kind == "measurement" else ""
        return PASS, f"{r.name}: {value_text(r)}{limit}."
    if bound is not None:
        return PASS, (f"all {len(passed)} records pass; the closest to its threshold is {bound.name}: "
                      f"{value_text(bound)} (required {_limit(bound)}).")
    return PASS, f"all {len(passed)} records pass."


def _waive(bucket: dict, cid: str, target: str | None, waivers, today: date) -> None:
    active, expired = waiver_lib.find(waivers, cid, today, target)
    bucket["expired"] = expired
    verdict, reason = bucket["verdict"], bucket["reason"]
    if verdict in (FAIL, NOT_VERIFIED) and active is not None:
        bucket.update(verdict=WAIVED, underlying=verdict, waiver=active,
                      reason=(f"{verdict} waived by {active.owner} until {active.expires.isoformat()} "
                              f"({active.reason.rstrip('.')}); underlying: {reason}"))
    elif verdict in (FAIL, NOT_VERIFIED) and expired:
        bucket["reason"] = f"{reason.rstrip('.')}; the waiver expired on {expired[0].expires.isoformat()}."


def _need_fleet_record(verdict: Verdict, reason: str, mine: list[Record], crit) -> tuple[Verdict, str]:
    """A fleet-scoped criterion's device halves alone are no PASS: the fleet-wide record must be there."""
    if verdict != PASS or crit is None or crit.scope != "fleet" or any(r.target is None for r in mine):
        return verdict, reason
    return NOT_VERIFIED, (f"{reason.rstrip('.')}; a fleet-wide criterion is decided when the devices' bundles "
                          "are merged (ivv merge, or ivv gate over several devices): this run holds one device's half.")


def _buckets(cid: str, own: list[Record], unfinished: dict, run_targets: list[str], waivers,
             today: date, fleet: list[str] | None = None, crit=None) -> dict[str, dict]:
    """The criterion decided on each target its records name (records without one count for all), and on
    every target of a fleet: a fleet target with nothing recorded for it is NOT VERIFIED there."""
    stalled = [(test, target) for test, (ids, target) in unfinished.items() if cid in ids]
    if not own and not stalled:
        return {}
    named = sorted({r.target for r in own if r.target} | {t for _, t in stalled if t} | set(fleet or ()))
    out = {}
    for target in named or run_targets or [NO_TARGET]:
        mine = [r for r in own if r.target in (target, None)]
        waiting = [test for test, t in stalled if t in (target, None)]
        bound = binding_lib.binding(mine)
        verdict, reason = _need_fleet_record(*_bucket_verdict(mine, waiting, bound), mine, crit)
        if not mine and not waiting:
            reason = f"nothing was recorded for it on {target}."
        bucket = {"verdict": verdict, "reason": reason, "evidence": [r.seq for r in mine],
                  "binding": bound.seq if bound is not None else None,
                  "repeats": binding_lib.repeats(mine, bound), "records": mine, "bound": bound}
        _waive(bucket, cid, None if target == NO_TARGET else target, waivers, today)
        out[target] = bucket
    return out


def _worst_target(buckets: dict[str, dict]) -> str:
    def badness(name: str):
        bound = buckets[name]["bound"]
        room = binding_lib.headroom(bound) if bound is not None and bound.kind == "measurement" else 0.0
        return (-Verdict(buckets[name]["verdict"]).severity, room, name)
    return min(buckets, key=badness)


def _findings(cid: str, buckets: dict[str, dict], problems, selection: dict, own: list[Record]) -> list[dict]:
    found: list[dict] = []
    for target, bucket in buckets.items():
        label = target if len(buckets) > 1 and target != NO_TARGET else None
        found += [f for f in binding_lib.outliers(bucket["records"], label) if f not in found]
    found += [{"kind": "tamper", "text": p.text, "records": [p.seq] if p.seq is not None else []}
              for p in problems if p.criterion == cid]
    for entry in selection.get("deselected") or ():
        if cid in entry.get("criteria", ()):
            gaps = [r.seq for r in own if r.kind == "gap" and (r.details or {}).get("deselected") == entry["test"]]
            found.append({"kind": "deselected", "records": gaps,
                          "text": f"its test {entry['test']} was {entry.get('why', 'deselected')}"})
    return found


def _entry(cid: str, crit, own: list[Record], buckets: dict[str, dict], findings: list[dict], waivers,
           today: date) -> dict:
    entry = {
        "title": crit.title if crit else cid, "mandatory": crit.mandatory if crit else True,
        "gate": crit.gate if crit else None, "suite": crit.suite if crit else (own[0].suite if own else None),
        "threshold": crit.threshold.to_dict() if crit and crit.threshold else None,
        "in_gate": crit is not None, "trace": list(crit.trace) if crit else [],
        "evidence": [r.seq for r in own], "waiver": None, "findings": findings,
        "expired_waivers": [w.to_dict() for w in waivers if w.criterion == cid and not w.active_on(today)],
        "targets": {t: {k: b[k] for k in ("verdict", "reason", "evidence", "binding", "repeats")}
                    for t, b in buckets.items()},
    }
    if buckets:
        name = _worst_target(buckets)
        worst = dict(buckets[name], reason=(f"on {name}: " if len(buckets) > 1 else "") + buckets[name]["reason"])
    else:  # nothing recorded on any target
        worst = {"verdict": NOT_VERIFIED, "reason": "no test measured it.", "binding": None, "repeats": None}
        _waive(worst, cid, None, waivers, today)
    entry.update({k: worst[k] for k in ("verdict", "reason", "binding", "repeats")})
    if worst["verdict"] == WAIVED:
        waived = [b for b in buckets.values() if b["verdict"] == WAIVED] or [worst]
        entry["waiver"] = worst["waiver"].to_dict()
        entry["underlying"] = max((b["underlying"] for b in waived), key=lambda v: Verdict(v).severity)
    return entry


def _some(ids: list[str], shown: int = 6) -> str:
    """A short list of ids for a one-sentence reason; the full list is in the criteria table."""
    return ", ".join(ids) if len(ids) <= shown else f"{', '.join(ids[:shown])} and {len(ids) - shown} more"


def _decide(entries: dict[str, dict], ids: list[str]) -> tuple[Decision, str]:
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


def _altered(decision: Decision, reason: str, integrity: Integrity) -> tuple[Decision, str]:
    if integrity.status != ALTERED:
        return decision, reason
    first = integrity.problems[0].text if integrity.problems else "see integrity"
    return HOLD, (f"The bundle was altered after the run ({len(integrity.problems)} problem(s); first: "
                  f"{first.rstrip('.')}), so its evidence supports no decision.")


def derive(records: list[Record], gates=None, waivers=(), today: date | None = None,
           integrity: Integrity | None = None, selection: dict | None = None,
           fleet: list[str] | None = None) -> dict[str, Any]:
    """verdicts.json content from records, the run's GateSet (or None), waivers as of `today`, the
    bundle's verified integrity (None: records not read from a bundle) and its selection. `fleet`: the
    targets every criterion must be decided on (a fleet run: manifest `fleet.targets`)."""
    today = today or date.today()
    base = integrity or Integrity(UNCHAINED, notes=["derived from records, not read from a bundle"])
    records, problems = rederive(records, gates, chained=base.status != UNCHAINED)
    integrity = base.adding(problems)
    selection = {"command": "", "deselected": [], **(selection or {})}
    criteria = list(gates.criteria) if gates else []
    known = {c.id for c in criteria}
    adhoc = sorted({r.criterion for r in records if r.criterion and r.criterion not in known})
    unfinished = _unfinished_tests(records)
    run_targets = sorted({r.target for r in records if r.target} | set(fleet or ()))
    entries: dict[str, dict] = {}
    for cid, crit in [(c.id, c) for c in criteria] + [(cid, None) for cid in adhoc]:
        own = [r for r in records if r.criterion == cid and r.kind != "test"]
        buckets = _buckets(cid, own, unfinished, run_targets, waivers, today, fleet, crit)
        findings = _findings(cid, buckets, integrity.problems, selection, own)
        entries[cid] = _entry(cid, crit, own, buckets, findings, waivers, today)
    gate_out = {}
    for gate in (gates.gates if gates else ()):
        ids = [c.id for c in gate.criteria]
        decision, reason = _altered(*_decide(entries, ids), integrity)
        gate_out[gate.id] = {"decision": decision, "reason": reason, "criteria": ids}
    decision, reason = _decide(entries, [c.id for c in criteria] if criteria else list(entries))
    harness_errors = sorted({(r.details or {}).get("harness_error") for r in records
                             if r.kind == "gap" and (r.details or {}).get("harness_error")})
    if harness_errors:
        reason = f"{reason.rstrip('.')}; the harness could not run some tests ({harness_errors[0]})."
    decision, reason = _altered(decision, reason, integrity)
    return {"format": FORMAT, "decision": decision, "reason": reason, "date": today.isoformat(),
            "targets": run_targets, "criteria": entries, "gates": gate_out, "harness_errors": harness_errors,
            "integrity": integrity.to_dict(), "selection": selection}
