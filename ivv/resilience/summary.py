"""The resilience part of the gate review, built from the bundle alone: per criterion its verdict beside the
claim its trials support, the cut point x outcome matrix, the recovery-time plots, the seed and how to
replay a trial, and how the device was left.
"""

from __future__ import annotations

PREFIX = "res."


def resilience_view(records, criteria: list[dict], manifest: dict) -> dict | None:
    """None when the run had no resilience criterion and no resilience manifest entry."""
    mine = [c for c in criteria if c["id"].startswith(PREFIX)]
    info = manifest.get("resilience") or {}
    if not mine and not info:
        return None
    rows = []
    for view in mine:
        own = [r for r in records if r.criterion == view["id"] and isinstance(r.details, dict)]
        claims = [r for r in own if isinstance(r.details.get("claim"), dict)]
        claim = claims[-1] if claims else None
        failed = [r.details["trial"] for r in own if r.kind == "check" and isinstance(r.details.get("trial"), dict)
                  and r.details["trial"].get("passed") is False]
        rows.append({
            "id": view["id"], "title": view["title"], "verdict": view["verdict"], "slug": view["slug"],
            "claim": claim.details["claim"]["text"] if claim else "no claim recorded (no trial ran)",
            "trials": claim.details["claim"]["trials"] if claim else 0,
            "failures": [{"trial": t.get("trial"), "point": t.get("point"), "failures": t.get("failures") or [],
                          "state_after": t.get("state_after") or {}} for t in failed],
            "matrix": _matrix(claim.details.get("table")) if claim else None,
            "plots": [p for p in view.get("plots") or [] if str(p.get("name", "")).startswith("worst")],
        })
    left = info.get("device_left") if isinstance(info.get("device_left"), dict) else None
    if left is not None:
        left = {"how": left.get("how", ""), "seconds": left.get("seconds"), "because": left.get("because")}
    return {"seed": info.get("seed"), "destructive": info.get("destructive"), "device_left": left,
            "states": info.get("states") or [], "rows": rows, "run_id": manifest.get("run_id")}


def _matrix(table) -> dict | None:
    if not isinstance(table, dict) or not isinstance(table.get("rows"), list):
        return None
    return {"title": table.get("title"), "columns": table.get("columns") or [], "rows": table["rows"],
            "long": len(table["rows"]) > 12}
