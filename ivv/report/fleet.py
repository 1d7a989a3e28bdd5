"""The fleet parts of a gate review (template pair `part-fleet`): the criterion x device grid, and one
section per device with its facts, its pre-run health check, its lease and the bundle it came from.

Built from verdicts.json (each criterion's verdict per target) and the manifest (`targets`, `fleet`,
`merged_from`) alone; shown for a fleet (a merged bundle of two or more devices; a single process
over several targets shows them in the criteria grid). It decides nothing: every cell is the verdict
verdicts.json gives for that criterion on that device.
"""

from __future__ import annotations

from ivv.evidence.verdict import Verdict
from ivv.report.criteria import slug

CELL_CHARS = 60      # a grid cell stays a cell; the criterion's section shows the whole value
FACTS_SHOWN = ("kind", "environment", "model", "cpu", "cores", "memory_mb", "arch", "kernel", "os", "python",
               "accel", "boot_seconds", "facts_error")


def _cell(view: dict, target: str) -> dict:
    row = next((t for t in view["targets"] if t["name"] == target), None)
    if row is None:
        verdict = view["verdict"] if not view["targets"] else Verdict.NOT_VERIFIED
        return {"verdict": verdict, "slug": slug(verdict), "value": None, "reason": view["reason"]}
    measured = row["measured"] or {}
    value = measured.get("value") or measured.get("counts")
    if value and len(value) > CELL_CHARS:
        value = value[:CELL_CHARS - 3] + "..."
    return {"verdict": row["verdict"], "slug": row["slug"], "value": value, "reason": row["reason"]}


def _facts(facts: dict) -> list[tuple[str, str]]:
    shown = dict(facts)
    shown["os"] = (facts.get("os_release") or {}).get("pretty_name") if isinstance(facts.get("os_release"), dict) else None
    return [(k, shown[k]) for k in FACTS_SHOWN if shown.get(k) not in (None, "")]


def _device(name: str, manifest: dict, verdicts: dict, sources: dict) -> dict:
    fleet = manifest.get("fleet") or {}
    device = (fleet.get("devices") or {}).get(name) or {}
    mandatory = [cid for cid, e in verdicts["criteria"].items() if e.get("mandatory", True)]
    own = {cid: ((e.get("targets") or {}).get(name) or {}).get("verdict", Verdict.NOT_VERIFIED)
           for cid, e in verdicts["criteria"].items()}
    counts = {v: sum(1 for cid in own if own[cid] == v) for v in Verdict}
    source = sources.get(device.get("run")) or {}
    preflight = device.get("preflight") or (manifest.get("preflight") or {}).get(name)
    return {
        "name": name, "facts": _facts((manifest.get("targets") or {}).get(name) or {}),
        "mandatory_pass": sum(1 for cid in mandatory if own[cid] == Verdict.PASS), "mandatory": len(mandatory),
        "counts": {str(v): n for v, n in counts.items() if n},
        "preflight": preflight, "lease": device.get("lease") or (manifest.get("leases") or {}).get(name),
        "incomplete": device.get("incomplete") or (manifest.get("incomplete") or {}).get(name),
        "run": device.get("run"), "source": device.get("source"), "seal": source.get("seal") or {},
        "manifest_sha256": source.get("manifest_sha256"), "seconds": (fleet.get("devices_s") or {}).get(name),
        "log": (fleet.get("logs") or {}).get(name), "stack": (device.get("stack") or {}).get("version"),
    }


def fleet_view(manifest: dict, verdicts: dict, criteria: list[dict]) -> dict | None:
    """The grid and device sections, or None for a run that is not a fleet of two or more devices."""
    targets = (manifest.get("fleet") or {}).get("targets") or []
    if len(targets) < 2:
        return None
    sources = {s.get("run_id"): s for s in manifest.get("merged_from") or [] if isinstance(s, dict)}
    rows = [{"id": c["id"], "title": c["title"], "mandatory": c["mandatory"], "verdict": c["verdict"],
             "slug": c["slug"], "cells": [_cell(c, t) for t in targets]} for c in criteria]
    fleet = manifest.get("fleet") or {}
    return {"targets": targets, "rows": rows, "devices": [_device(t, manifest, verdicts, sources) for t in targets],
            "max_parallel": fleet.get("max_parallel"), "wall_s": fleet.get("wall_s"),
            "merged_from": list(sources.values())}
