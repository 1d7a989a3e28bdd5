"""Render gate-review.md and gate-review.html from a bundle alone (manifest, gate copies, evidence.jsonl).

The same bundle always gives the same bytes: no render time in the output, plots rendered
deterministically, records in journal order. Users may override templates with their own folder.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import jinja2

from ivv import resources
from ivv.evidence.bundle import EVIDENCE, VERDICTS, Bundle, sha256_file
from ivv.evidence.journal import FAIL, NOT_VERIFIED, PASS, WAIVED
from ivv.evidence.redact import redact
from ivv.evidence.verdicts import derive, value_text
from ivv.report import plots

DEFAULT_TEMPLATES = resources.shipped("templates")
TEMPLATES = {"markdown": "gate-review.md.j2", "html": "gate-review.html.j2"}
OUTPUTS = {"markdown": "gate-review.md", "html": "gate-review.html"}
SUITE_ORDER = ("deployment", "rollback", "health", "documentation", "contract", "performance", "security",
               "resilience")


def _md_cell(value: Any) -> str:
    """Text safe inside a Markdown table cell."""
    text = "" if value is None else str(value)
    return " ".join(text.replace("|", "\\|").split())


def _fact(value: Any) -> str:
    """A manifest fact as text: nested lists and dicts as compact JSON."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return "" if value is None else str(value)


def _environment(templates: str | Path | None) -> jinja2.Environment:
    folders = [str(templates)] if templates else []
    folders.append(str(DEFAULT_TEMPLATES))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folders),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2", "html"), default_for_string=False),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters["md"] = _md_cell
    env.filters["fact"] = _fact
    env.filters["tojson_sorted"] = lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False)
    return env


def _tables(details: dict | None) -> list[dict]:
    """`details.table` / `details.tables`: {"title"?, "columns": [...], "rows": [[...]]}."""
    if not isinstance(details, dict):
        return []
    found = []
    candidates = [details.get("table")] + list(details.get("tables") or [])
    for table in candidates:
        if isinstance(table, dict) and isinstance(table.get("columns"), list) and isinstance(table.get("rows"), list):
            found.append({"title": table.get("title"), "columns": table["columns"],
                          "rows": [row if isinstance(row, list) else [row] for row in table["rows"]]})
    return found


def _other_details(details: dict | None) -> str | None:
    if not isinstance(details, dict):
        return None
    rest = {k: v for k, v in details.items() if k not in ("table", "tables")}
    if not rest:
        return None
    text = json.dumps(rest, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= 600 else text[:597] + "..."


def _record_view(record, plot_files: dict[int, str]) -> dict[str, Any]:
    return {
        "seq": record.seq, "kind": record.kind, "criterion": record.criterion, "name": record.name,
        "value": value_text(record) if record.kind in ("measurement", "check") else (record.reason or ""),
        "threshold": (record.threshold or {}).get("text"), "verdict": record.verdict or "",
        "target": record.target, "test": record.test, "start": record.start, "end": record.end,
        "expected": record.expected, "observed": record.observed,
        "artifacts": list(record.artifacts), "tables": _tables(record.details),
        "details": _other_details(record.details), "plot": plot_files.get(record.seq),
    }


def _waiver_view(waiver, verdicts: dict) -> dict:
    """A loaded waiver with what it did in this run: applied, expired, or not needed."""
    entry = verdicts["criteria"].get(waiver.criterion)
    if entry is None:
        status = "criterion not in the gates"
    elif waiver.to_dict() in entry["expired_waivers"]:
        status = "expired: covers nothing"
    elif entry.get("waiver") == waiver.to_dict():
        status = f"applied ({entry.get('underlying')} waived)"
    else:
        status = f"not needed (criterion {entry['verdict']})"
    return dict(waiver.to_dict(), status=status)


def _deciding_value(entry: dict, by_seq: dict) -> str:
    """The measured value shown in the criteria table: for measurements the first failing one, else the
    last; for checks how many pass; a criterion with both shows the measurement by name and the count."""
    own = [by_seq[s] for s in entry["evidence"] if s in by_seq and by_seq[s].kind in ("measurement", "check")]
    if not own:
        return "-"
    measurements = [r for r in own if r.kind == "measurement"]
    checks = [r for r in own if r.kind == "check"]
    shown = None
    if measurements:
        failing = [r for r in measurements if r.verdict == FAIL]
        shown = failing[0] if failing else measurements[-1]
        if not checks:
            return value_text(shown)
    passed = sum(1 for r in checks if r.verdict == PASS)
    gaps = sum(1 for s in entry["evidence"] if s in by_seq and by_seq[s].kind == "gap")
    counted = f"{passed} of {len(checks)} checks pass" + (f", {gaps} not measured" if gaps else "")
    return f"{shown.name}: {value_text(shown)}; {counted}" if shown is not None else counted


def build_context(bundle: Bundle, verdicts: dict, plot_svgs: dict[int, str], plot_files: dict[int, str]) -> dict:
    records = bundle.records()
    by_seq = {r.seq: r for r in records}
    manifest = bundle.manifest
    rows = []
    for cid, entry in verdicts["criteria"].items():
        crit = bundle.gates.get(cid) if bundle.gates else None
        artifacts = list({a["path"]: a for s in entry["evidence"] if s in by_seq for a in by_seq[s].artifacts}.values())
        rows.append({
            "id": cid, "title": entry["title"], "requirement": crit.requirement if crit else "(not in a gate)",
            "threshold": (entry["threshold"] or {}).get("text") or "-", "measured": _deciding_value(entry, by_seq),
            "verdict": entry["verdict"], "reason": entry["reason"], "evidence": entry["evidence"],
            "artifacts": artifacts, "mandatory": entry["mandatory"], "suite": entry["suite"] or "other",
            "gate": entry["gate"], "waiver": entry.get("waiver"), "expired_waivers": entry["expired_waivers"],
            "underlying": entry.get("underlying"),
        })
    suites: dict[str, dict] = defaultdict(lambda: {"criteria": [], "records": []})
    suite_of_criterion = {row["id"]: row["suite"] for row in rows}
    for row in rows:
        suites[row["suite"]]["criteria"].append(row)
    for record in records:
        if record.kind == "test":
            continue
        name = suite_of_criterion.get(record.criterion) or record.suite or "other"
        view = _record_view(record, plot_files)
        view["svg"] = plot_svgs.get(record.seq)
        suites[name]["records"].append(view)
    ordered = sorted(suites, key=lambda s: (SUITE_ORDER.index(s) if s in SUITE_ORDER else len(SUITE_ORDER), s))
    tests = [r for r in records if r.kind == "test" and r.value != "started"]
    finished = {r.test for r in tests}
    unfinished = sorted({r.test for r in records if r.kind == "test" and r.value == "started"} - finished)
    counts = {v: sum(1 for row in rows if row["verdict"] == v) for v in (PASS, FAIL, NOT_VERIFIED, WAIVED)}
    evidence_path = bundle.path / EVIDENCE
    return {
        "run_id": manifest.get("run_id"), "decision": verdicts["decision"], "reason": verdicts["reason"],
        "verdict_date": verdicts.get("date"), "counts": counts, "criteria": rows,
        "harness_errors": verdicts.get("harness_errors") or [],
        "gates": [dict(g, **verdicts["gates"].get(g["id"], {})) for g in manifest.get("gates", [])],
        "suites": [{"name": s, **suites[s]} for s in ordered],
        "not_verified": [row for row in rows if row["verdict"] == NOT_VERIFIED],
        "waived": [row for row in rows if row["verdict"] == WAIVED],
        "expired": [dict(w, used_for=row["id"]) for row in rows for w in row["expired_waivers"]],
        "waivers": [_waiver_view(w, verdicts) for w in bundle.waivers()],
        "tests": [{"test": r.test, "outcome": r.value, "message": (r.details or {}).get("message"),
                   "criteria": (r.details or {}).get("criteria", [])} for r in tests],
        "unfinished": unfinished,
        "targets": manifest.get("targets") or {}, "stack": manifest.get("stack") or {},
        "phases": [p for p in (manifest.get("phases") or []) if isinstance(p, dict)],
        "provenance": {
            "harness_version": manifest.get("harness", {}).get("version"),
            "git_sha": manifest.get("harness", {}).get("git_sha"),
            "python": manifest.get("harness", {}).get("python"),
            "stack_version": (manifest.get("stack") or {}).get("version") or "not recorded",
            "gates": [{"id": g["id"], "file": g["file"], "sha256": g["sha256"]} for g in manifest.get("gates", [])],
            "waivers": manifest.get("waivers", []),
            "evidence_sha256": sha256_file(evidence_path) if evidence_path.exists() else "no evidence recorded",
            "records": len(records), "started": manifest.get("started"), "ended": manifest.get("ended"),
            "command": " ".join(manifest.get("command") or []),
        },
        "pages": manifest.get("pages") or {}, "complete": bool(manifest.get("ended")),
    }


def render_plots(bundle: Bundle) -> tuple[dict[int, str], dict[int, str]]:
    """SVG text and file path (plots/<seq>.svg) for every record carrying a series."""
    svgs, files = {}, {}
    for record in bundle.records():
        if not isinstance(record.series, dict):
            continue
        svg = plots.svg_for(record.series, f"{record.criterion}: {record.name}", record.threshold)
        if svg is None:
            continue
        relative = f"plots/record-{record.seq:05d}.svg"
        (bundle.path / "plots").mkdir(exist_ok=True)
        (bundle.path / relative).write_text(redact(svg), encoding="utf-8")
        svgs[record.seq], files[record.seq] = redact(svg), relative
    return svgs, files


def render_bundle(bundle_dir: str | Path, templates: str | Path | None = None) -> tuple[dict, dict[str, Path]]:
    """Verify the bundle (hash chain, seal, copies), then derive verdicts (re-derived from the gate's
    thresholds), write verdicts.json and both reports into the bundle; returns (verdicts, paths)."""
    bundle = Bundle.load(bundle_dir)
    integrity = bundle.verify()
    verdicts = derive(bundle.records(), bundle.gates, bundle.waivers(), bundle.run_date(), integrity=integrity,
                      selection=bundle.selection())
    (bundle.path / VERDICTS).write_text(redact(json.dumps(verdicts, indent=2, sort_keys=True)) + "\n",
                                        encoding="utf-8")
    svgs, files = render_plots(bundle)
    context = build_context(bundle, verdicts, svgs, files)
    env = _environment(templates)
    paths = {}
    for kind, template in TEMPLATES.items():
        text = env.get_template(template).render(**context)
        path = bundle.path / OUTPUTS[kind]
        path.write_text(redact(text), encoding="utf-8")
        paths[kind] = path
    return verdicts, paths
