"""One view per criterion: the binding record, its repeats, per-target rows, findings, the evidence by name,
artifacts with sizes, the exchange behind a FAIL and the reason for a NOT VERIFIED.

Reads a verdicts.json entry (format-2 keys such as `binding`, `repeats`, `targets`, `findings`, `trace`
with `.get`, so an older entry renders too) and the records it names. It never decides a verdict: the
entry's verdict and reason are shown as they are.
"""

from __future__ import annotations

import json
import numbers
from pathlib import Path
from typing import Any

from ivv.evidence.journal import FAIL, NOT_VERIFIED, PASS, Record
from ivv.evidence.thresholds import convert
from ivv.evidence.verdicts import value_text

EXCERPT_LINES, EXCERPT_CHARS = 40, 4000
EXCERPTS_SHOWN = 3
REASON_LABELS = {"PASS": "PASS", "FAIL": "Why it FAILS", "NOT VERIFIED": "Why it is NOT VERIFIED",
                 "WAIVED": "WAIVED"}
TEXT_SUFFIXES = (".txt", ".log", ".json", ".jsonl", ".csv", ".md", ".yaml", ".yml")


def slug(verdict: str | None) -> str:
    """`NOT VERIFIED` -> `NOT-VERIFIED`, for CSS classes and data attributes."""
    return (verdict or "none").replace(" ", "-")


def size_text(size: int | None) -> str:
    if size is None:
        return "?"
    for unit, factor in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} B"


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _worst_measurement(measurements: list[Record]) -> Record:
    """The measurement closest to (or furthest past) its threshold: the largest for `<`, the smallest for `>`."""
    def margin(record: Record) -> float:
        limit = record.threshold or {}
        try:
            value = convert(float(record.value), record.unit, limit.get("unit"))
        except ValueError:
            return 0.0
        return value if limit.get("op") in ("<", "<=") else -value if limit.get("op") in (">", ">=") else 0.0
    numeric = [r for r in measurements if _number(r.value)]
    return max(numeric, key=margin) if numeric else measurements[-1]


def fallback_binding(records: list[Record]) -> int | None:
    """For entries without `binding` (verdicts format 1): the first failing measurement, else the first
    failing check, else the worst measurement; None when nothing was measured."""
    decisive = [r for r in records if r.kind in ("measurement", "check")]
    failed = [r for r in decisive if r.verdict == FAIL]
    if failed:
        return next((r for r in failed if r.kind == "measurement"), failed[0]).seq
    measurements = [r for r in decisive if r.kind == "measurement"]
    return _worst_measurement(measurements).seq if measurements else None


def binding_seq(entry: dict, records: list[Record]) -> int | None:
    return entry["binding"] if "binding" in entry else fallback_binding(records)


def measured(records: list[Record], binding: Record | None) -> dict:
    """The grid's measured cell: the binding value with its unit and name, and how many checks pass."""
    checks = [r for r in records if r.kind == "check"]
    gaps = [r for r in records if r.kind == "gap"]
    value = name = None
    if binding is not None and binding.kind == "measurement":
        value, name = value_text(binding), binding.name
    elif binding is not None and binding.verdict == FAIL:
        value, name = value_text(binding), binding.name
    counts = None
    if checks:
        passed = sum(1 for r in checks if r.verdict == PASS)
        counts = f"{passed} of {len(checks)} checks pass" + (f", {len(gaps)} not measured" if gaps else "")
    if value is None and counts is None:
        value = "not measured" if gaps else "nothing recorded"
    return {"value": _short(value), "name": name, "counts": counts}


def _short(text: str | None, limit: int = 160) -> str | None:
    """A grid cell stays a cell: long observed values are cut (the section shows them whole)."""
    return text if text is None or len(text) <= limit else text[:limit - 3] + "..."


def repeats_text(repeats: dict | None) -> str | None:
    """`3 runs: min 10.2 s, median 11 s, max 12.1 s`."""
    if not isinstance(repeats, dict) or not repeats.get("n"):
        return None
    unit = f" {repeats['unit']}" if repeats.get("unit") else ""

    def shown(key: str) -> str:
        value = repeats.get(key)
        return f"{value:.4g}{unit}" if _number(value) else f"{value}{unit}"
    label = repeats.get("name") or "repeats"
    return f"{label}: n = {repeats['n']}, min {shown('min')}, median {shown('median')}, max {shown('max')}"


def _exchange_text(exchange: dict) -> str:
    lines = [f"# {exchange.get('url', '')}  outcome={exchange.get('outcome', '')}".rstrip()]
    lines.append(f">>> {exchange.get('sent', '')}")
    lines += [f"<<< {frame}" for frame in exchange.get("received") or []]
    return "\n".join(lines)


def _cut(text: str, where: str) -> str:
    lines = text.splitlines()
    cut = "\n".join(lines[:EXCERPT_LINES])
    if len(cut) > EXCERPT_CHARS:
        cut = cut[:EXCERPT_CHARS]
    if cut != text.rstrip("\n"):
        cut += f"\n... (excerpt: {len(lines)} lines in all; full text in {where})"
    return cut


def excerpt(record: Record, bundle_path: Path) -> dict | None:
    """The exact exchange behind a failing record: from its details, else the start of its text artifact."""
    details = record.details if isinstance(record.details, dict) else {}
    exchanges = list(details.get("exchanges") or []) + ([details["exchange"]] if isinstance(details.get("exchange"), dict) else [])
    exchanges = [e for e in exchanges if isinstance(e, dict)]
    if exchanges:
        text = "\n\n".join(_exchange_text(e) for e in exchanges)
        return {"seq": record.seq, "name": record.name, "source": "recorded exchange",
                "text": _cut(text, f"record {record.seq}")}
    for artifact in record.artifacts:
        path = bundle_path / artifact.get("path", "")
        if path.suffix.lower() in TEXT_SUFFIXES and path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            return {"seq": record.seq, "name": record.name, "source": artifact["path"],
                    "text": _cut(text, artifact["path"])}
    return None


def _artifacts(records: list[Record]) -> list[dict]:
    seen: dict[str, dict] = {}
    for record in records:
        for artifact in record.artifacts:
            if artifact.get("path") and artifact["path"] not in seen:
                seen[artifact["path"]] = dict(artifact, name=artifact["path"].split("/")[-1],
                                              size=size_text(artifact.get("bytes")), record=record.seq)
    return list(seen.values())


def _target_rows(entry: dict, by_seq: dict[int, Record]) -> list[dict]:
    """One row per target when the entry carries per-target verdicts (format 2)."""
    rows = []
    for name, sub in sorted((entry.get("targets") or {}).items()):
        own = [by_seq[s] for s in sub.get("evidence", []) if s in by_seq]
        seq = binding_seq(sub, own)
        rows.append({"name": name, "verdict": sub.get("verdict"), "slug": slug(sub.get("verdict")),
                     "reason": sub.get("reason"), "binding": seq,
                     "measured": measured(own, by_seq.get(seq)), "repeats": repeats_text(sub.get("repeats"))})
    return rows


def _other_gaps(records: list[Record], reason: str) -> list[dict]:
    """Gap records whose reason the criterion's one-sentence reason does not already give."""
    return [{"seq": r.seq, "reason": r.reason or r.name} for r in records
            if r.kind == "gap" and (r.reason or r.name).rstrip(".") not in reason]


def _findings(entry: dict, by_seq: dict[int, Record]) -> list[dict]:
    out = []
    for finding in entry.get("findings") or []:
        if isinstance(finding, dict):
            refs = [{"seq": s, "name": by_seq[s].name if s in by_seq else f"record {s}"}
                    for s in finding.get("records") or []]
            out.append({"kind": finding.get("kind") or "finding", "text": finding.get("text") or "", "records": refs})
    return out


def _threshold_text(entry: dict, binding: Record | None) -> str | None:
    """The gate's threshold, or the one the binding record was judged against when that differs."""
    gate = (entry.get("threshold") or {}).get("text")
    recorded = (binding.threshold or {}).get("text") if binding is not None and binding.kind == "measurement" else None
    if recorded and gate and recorded != gate:
        return f"{recorded} (as recorded; the gate says {gate})"
    return recorded or gate


def criterion_view(cid: str, entry: dict, criterion, by_seq: dict[int, Record], record_views: dict[int, dict],
                   bundle_path: Path) -> dict:
    """Everything the grid row and the criterion's section show."""
    records = [by_seq[s] for s in entry["evidence"] if s in by_seq]
    seq = binding_seq(entry, records)
    binding = by_seq.get(seq) if seq is not None else None
    failing = [r for r in records if r.verdict == FAIL]
    if binding is not None and binding in failing:
        failing = [binding] + [r for r in failing if r is not binding]
    shown_fail = FAIL in (entry["verdict"], entry.get("underlying"))
    excerpts = [e for e in (excerpt(r, bundle_path) for r in failing[:EXCERPTS_SHOWN]) if e] if shown_fail else []
    views = [dict(record_views[r.seq], binding=r.seq == seq) for r in records if r.seq in record_views]
    plotted = sorted((v for v in views if v.get("svg")), key=lambda v: not v["binding"])
    unverified = NOT_VERIFIED in (entry["verdict"], entry.get("underlying"))
    threshold = _threshold_text(entry, binding)
    trace = entry.get("trace") or list(getattr(criterion, "trace", None) or [])
    return {
        "id": cid, "title": entry.get("title") or cid, "slug": slug(entry["verdict"]),
        "requirement": criterion.requirement if criterion else "(not in a gate)",
        "source": getattr(criterion, "source", None), "trace": trace,
        "threshold": threshold or ("all checks pass" if records else "-"),
        "verdict": entry["verdict"], "reason": entry["reason"], "underlying": entry.get("underlying"),
        "mandatory": entry.get("mandatory", True), "suite": entry.get("suite") or "other", "gate": entry.get("gate"),
        "waiver": entry.get("waiver"), "expired_waivers": entry.get("expired_waivers") or [],
        "binding": record_views.get(seq) if seq is not None else None,
        "measured": measured(records, binding), "repeats": repeats_text(entry.get("repeats")),
        "targets": _target_rows(entry, by_seq), "findings": _findings(entry, by_seq),
        "records": views, "plots": plotted, "artifacts": _artifacts(records), "excerpts": excerpts,
        "reason_label": REASON_LABELS.get(entry["verdict"], entry["verdict"]),
        "gaps": _other_gaps(records, entry["reason"]) if unverified else [],
        "evidence": [r.seq for r in records],
    }


def details_json(details: dict | None, limit: int = 600) -> str | None:
    """Record details other than tables, as compact JSON for the record's row."""
    if not isinstance(details, dict):
        return None
    rest = {k: v for k, v in details.items() if k not in ("table", "tables")}
    if not rest:
        return None
    text = json.dumps(rest, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit - 3] + "..."
