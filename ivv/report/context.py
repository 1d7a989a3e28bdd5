"""The template context of a gate review, built from the bundle and its verdicts alone.

Parts of the report read their own keys: `summary` (decision, counts, integrity, selection, gates),
`criteria` (one view per criterion, see `ivv.report.criteria`), `waivers`, `tests`, `targets`/`stack`,
`phases`, `provenance`, `fleet` (the criterion x device grid and device sections, ivv.report.fleet).
A new part adds its key here and its template pair `templates/part-NAME.{html,md}.j2`.
Keys of verdicts format 2 are read with `.get`, so verdicts of an older bundle render too.
"""

from __future__ import annotations

from typing import Any

from ivv.evidence.bundle import EVIDENCE, Bundle, sha256_file
from ivv.evidence.journal import FAIL, NOT_VERIFIED, PASS, WAIVED, Record
from ivv.evidence.verdicts import value_text
from ivv.report.criteria import criterion_view, details_json, size_text, slug
from ivv.report.fleet import fleet_view
from ivv.resilience.summary import resilience_view

VERDICTS = (FAIL, NOT_VERIFIED, WAIVED, PASS)
LONG_TABLE_ROWS = 12  # tables longer than this are collapsed (<details>) in the HTML


def tables(details: dict | None) -> list[dict]:
    """`details.table` / `details.tables`: {"title"?, "columns": [...], "rows": [[...]]}."""
    if not isinstance(details, dict):
        return []
    found = []
    for table in [details.get("table")] + list(details.get("tables") or []):
        if isinstance(table, dict) and isinstance(table.get("columns"), list) and isinstance(table.get("rows"), list):
            rows = [row if isinstance(row, list) else [row] for row in table["rows"]]
            found.append({"title": table.get("title"), "columns": table["columns"], "rows": rows,
                          "long": len(rows) > LONG_TABLE_ROWS})
    return found


def record_view(record: Record, plot_svgs: dict[int, str], plot_files: dict[int, str]) -> dict[str, Any]:
    return {
        "seq": record.seq, "kind": record.kind, "criterion": record.criterion, "name": record.name,
        "value": value_text(record) if record.kind in ("measurement", "check") else (record.reason or ""),
        "threshold": (record.threshold or {}).get("text"), "verdict": record.verdict or "",
        "slug": slug(record.verdict), "target": record.target, "test": record.test,
        "start": record.start, "end": record.end, "expected": record.expected, "observed": record.observed,
        "artifacts": [dict(a, name=a["path"].split("/")[-1], size=size_text(a.get("bytes"))) for a in record.artifacts],
        "tables": tables(record.details), "details": details_json(record.details),
        "plot": plot_files.get(record.seq), "svg": plot_svgs.get(record.seq),
    }


def _waiver_view(waiver, verdicts: dict) -> dict:
    """A loaded waiver with what it did in this run: applied, expired, or not needed."""
    entry = verdicts["criteria"].get(waiver.criterion)
    if entry is None:
        status = "criterion not in the gates"
    elif waiver.to_dict() in (entry.get("expired_waivers") or []):
        status = "expired: covers nothing"
    elif entry.get("waiver") == waiver.to_dict():
        status = f"applied ({entry.get('underlying')} waived)"
    else:
        status = f"not needed (criterion {entry['verdict']})"
    return dict(waiver.to_dict(), status=status)


def _integrity(verdicts: dict) -> dict | None:
    integrity = verdicts.get("integrity")
    if not isinstance(integrity, dict) or not integrity.get("status"):
        return None
    return {"status": integrity["status"], "problems": list(integrity.get("problems") or []),
            "ok": integrity["status"] == "verified"}


def _selection(verdicts: dict, manifest: dict) -> dict:
    selection = verdicts.get("selection") if isinstance(verdicts.get("selection"), dict) else {}
    command = selection.get("command") or " ".join(manifest.get("command") or [])
    return {"command": command, "deselected": [d for d in selection.get("deselected") or [] if isinstance(d, dict)]}


def evidence_sha256(bundle: Bundle) -> str:
    evidence = bundle.path / EVIDENCE
    return sha256_file(evidence) if evidence.exists() else "no evidence recorded"


def _provenance(bundle: Bundle, records: list[Record]) -> dict:
    manifest = bundle.manifest
    harness = manifest.get("harness") or {}
    return {
        "harness_version": harness.get("version"), "git_sha": harness.get("git_sha"), "python": harness.get("python"),
        "stack_version": (manifest.get("stack") or {}).get("version") or "not recorded",
        "gates": [{"id": g["id"], "file": g["file"], "sha256": g["sha256"]} for g in manifest.get("gates", [])],
        "waivers": manifest.get("waivers", []),
        "evidence_sha256": evidence_sha256(bundle),
        "records": len(records), "started": manifest.get("started"), "ended": manifest.get("ended"),
        "command": " ".join(manifest.get("command") or []),
    }


def _tests(records: list[Record]) -> tuple[list[dict], list[str]]:
    done = [r for r in records if r.kind == "test" and r.value != "started"]
    finished = {r.test for r in done}
    unfinished = sorted({r.test for r in records if r.kind == "test" and r.value == "started"} - finished)
    return ([{"test": r.test, "outcome": r.value, "message": (r.details or {}).get("message"),
              "criteria": (r.details or {}).get("criteria", [])} for r in done], unfinished)


def build_context(bundle: Bundle, verdicts: dict, plot_svgs: dict[int, str], plot_files: dict[int, str]) -> dict:
    records = bundle.records()
    by_seq = {r.seq: r for r in records}
    views = {r.seq: record_view(r, plot_svgs, plot_files) for r in records if r.kind != "test"}
    manifest = bundle.manifest
    criteria = [criterion_view(cid, entry, bundle.gates.get(cid) if bundle.gates else None, by_seq, views, bundle.path)
                for cid, entry in verdicts["criteria"].items()]
    counts = {v: sum(1 for c in criteria if c["verdict"] == v) for v in VERDICTS}
    tests, unfinished = _tests(records)
    provenance = _provenance(bundle, records)
    return {
        "run_id": manifest.get("run_id"), "decision": verdicts["decision"], "decision_slug": slug(verdicts["decision"]),
        "reason": verdicts["reason"], "verdict_date": verdicts.get("date"), "counts": counts, "criteria": criteria,
        "findings_count": sum(len(c["findings"]) for c in criteria),
        "harness_errors": verdicts.get("harness_errors") or [],
        "integrity": _integrity(verdicts), "selection": _selection(verdicts, manifest),
        "gates": [dict(g, **verdicts.get("gates", {}).get(g["id"], {})) for g in manifest.get("gates", [])],
        "waived": [c for c in criteria if c["verdict"] == WAIVED],
        "expired": [dict(w, used_for=c["id"]) for c in criteria for w in c["expired_waivers"]],
        "waivers": [_waiver_view(w, verdicts) for w in bundle.waivers()],
        "tests": tests, "unfinished": unfinished,
        "targets": manifest.get("targets") or {}, "stack": manifest.get("stack") or {},
        "phases": [p for p in (manifest.get("phases") or []) if isinstance(p, dict)],
        "provenance": provenance, "footer": footer_text(manifest.get("run_id"), provenance["evidence_sha256"]),
        "pages": manifest.get("pages") or {}, "complete": bool(manifest.get("ended")),
        "fleet": fleet_view(manifest, verdicts, criteria),
        "resilience": resilience_view(records, criteria, manifest),
    }


def footer_text(run_id: str | None, sha256: str) -> str:
    """The line every printed page carries: which run, and which evidence it was rendered from."""
    return f"run {run_id} · evidence.jsonl sha256 {sha256}"

