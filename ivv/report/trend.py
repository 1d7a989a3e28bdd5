"""Trends: each figure over the history of run bundles in a folder (`ivv trend reports/`), one SVG per
criterion and device in one HTML page, the gate's threshold drawn as a dashed line.

History is evidence too: every bundle is verified first, and one that was altered (or is too old to
verify) is left out and listed with the reason. A figure is the binding value of a criterion on a device
(ivv.evidence.baseline), in run order (by start time); the threshold drawn is the one the newest run's
binding record was judged by. Bundles inside a merged bundle (`sources/`) are not walked again: the
merged bundle carries their devices.
"""

from __future__ import annotations

from pathlib import Path

from ivv.errors import ConfigError
from ivv.evidence import baseline as baseline_lib
from ivv.evidence.bundle import MANIFEST, Bundle
from ivv.evidence.redact import redact
from ivv.evidence.thresholds import convert
from ivv.report import plots


def history(folder: str | Path) -> tuple[list[Bundle], list[dict]]:
    """(verified bundles in start order, the ones left out with why)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"{folder}: not a folder of run bundles")
    kept, left = [], []
    for path in sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink() and (p / MANIFEST).exists()):
        try:
            kept.append(baseline_lib.verified(path, what="history bundle"))
        except ConfigError as exc:
            left.append({"bundle": path.name, "why": str(exc)})
    kept.sort(key=lambda b: (str(b.manifest.get("started") or ""), b.path.name))
    return kept, left


def series(bundles: list[Bundle]) -> list[dict]:
    """One entry per (criterion, device): its value in every run that measured it."""
    found: dict[tuple[str, str], list] = {}
    for index, bundle in enumerate(bundles, start=1):
        for key, figure in baseline_lib.figures(bundle).items():
            found.setdefault(key, []).append((index, bundle, figure))
    out = []
    for (cid, target), points in sorted(found.items()):
        newest = points[-1][2]
        unit = newest.unit
        rows = []
        for index, bundle, figure in points:
            try:
                value = convert(figure.value, figure.unit, unit)
            except ValueError:
                continue
            rows.append({"index": index, "run": bundle.manifest.get("run_id"), "started": bundle.manifest.get("started"),
                         "value": value, "verdict": figure.verdict})
        title = f"{cid} on {target}"
        svg = plots.svg_for({"values": [r["value"] for r in rows], "x": [r["index"] for r in rows], "unit": unit,
                             "label": title, "x_label": "run (oldest first)"}, title, newest.threshold)
        out.append({"criterion": cid, "target": target, "unit": unit, "name": newest.name, "rows": rows,
                    "threshold": (newest.threshold or {}).get("text"), "svg": svg})
    return out


def write(folder: str | Path, out: str | Path | None = None, templates: str | Path | None = None) -> tuple[Path, dict]:
    from ivv.report.render import environment

    bundles, left = history(folder)
    if not bundles:
        raise ConfigError(f"{folder}: no run bundle there verifies, so there is no history to plot")
    view = {"folder": str(folder), "figures": series(bundles), "left_out": left,
            "runs": [{"index": i, "run": b.manifest.get("run_id"), "started": b.manifest.get("started"),
                      "targets": ", ".join(b.fleet_targets() or sorted(b.manifest.get("targets") or {}))}
                     for i, b in enumerate(bundles, start=1)]}
    path = Path(out) if out else Path(folder) / "trend.html"
    path.write_text(redact(environment(templates).get_template("trend.html.j2").render(**view)), encoding="utf-8")
    return path, view
