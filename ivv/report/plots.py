"""Every SVG plot ivv draws, rendered deterministically (same data -> byte-identical SVG).

- `svg_for(series, title, threshold)`: a record's `series` (`{"values": [...], "unit": "ms", "x": [...]?,
  "label"/"name"?, "x_label"?}`) against its run number (or `x`), the threshold drawn as a dashed line
  (converted into the series' unit when the units differ but measure the same thing). Run numbers and
  other whole-number axes get whole-number ticks.
- `latency_plot(series, path)` and `memory_plot(samples, fit, path)`: the load run's per-second latency
  percentiles and the service's memory over time, written beside the run's other files.
"""

from __future__ import annotations

import io
import re
import textwrap
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the headless backend
from matplotlib.ticker import MaxNLocator  # noqa: E402

from ivv.evidence.thresholds import convert  # noqa: E402

MAX_POINTS = 1500
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)  # RDF block naming external namespaces
_RC = {
    "svg.hashsalt": "ivv",            # stable element ids
    "svg.fonttype": "none",           # text stays text: no font-dependent glyph paths
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
LINE, LIMIT = "#1f5fa8", "#b3261e"


def series_values(series: dict[str, Any]) -> list[float]:
    return [float(v) for v in series.get("values", []) if isinstance(v, (int, float)) and not isinstance(v, bool)]


def _whole(values: list) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer() for v in values)


def _threshold_in(threshold: dict | None, unit: str) -> float | None:
    """The threshold's value in the series' unit, or None when it cannot be drawn on this axis."""
    if not threshold or threshold.get("value") is None:
        return None
    try:
        return convert(float(threshold["value"]), threshold.get("unit") or unit, unit or threshold.get("unit"))
    except ValueError:
        return None


def svg_for(series: dict[str, Any], title: str, threshold: dict | None = None) -> str | None:
    """The SVG text of one series plot, or None when there is nothing to draw."""
    values = series_values(series)
    if not values:
        return None
    given = series.get("x") if isinstance(series.get("x"), list) and len(series["x"]) == len(values) else None
    xs = given if given is not None else list(range(1, len(values) + 1))
    label = series.get("label") or series.get("name") or title
    if len(values) > MAX_POINTS:  # keep the SVG small; the max per bucket keeps every spike visible
        size = -(-len(values) // MAX_POINTS)
        xs = [xs[i] for i in range(0, len(values), size)]
        values = [max(values[i:i + size]) for i in range(0, len(values), size)]
        label = f"{label} (max of each {size} samples)"
    unit = series.get("unit") or ""
    limit = _threshold_in(threshold, unit)
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(6.0, 2.4), dpi=100)
        try:
            marker = "o" if len(values) <= 30 else None
            ax.plot(xs, values, marker=marker, markersize=3, linewidth=1.2, color=LINE, label=label)
            if limit is not None:
                ax.axhline(limit, color=LIMIT, linestyle="--", linewidth=1,
                           label=f"threshold {threshold.get('text', '')}")
            if _whole(xs):
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title(textwrap.fill(title, 90), fontsize=9)
            ax.set_xlabel(series.get("x_label") or ("sample" if given is not None else "sample number"))
            ax.set_ylabel(unit or "value")
            ax.legend(loc="best", fontsize=7)
            fig.tight_layout()
            buffer = io.StringIO()
            fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
        finally:
            plt.close(fig)
    text = buffer.getvalue()
    start = text.find("<svg")  # drop the XML prolog and doctype so the SVG can sit inline in HTML
    text = text[start:] if start >= 0 else text
    return _METADATA.sub("", text)


def latency_plot(series: dict, path: Path, title: str = "") -> Path:
    """Per-second latency percentiles (log axis) over replies and errors per second."""
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(8, 3.2))
        t = series.get("t_s", [])
        for key, style in (("max_ms", ":"), ("p99_ms", "-"), ("p95_ms", "-"), ("p50_ms", "--")):
            values = [v if v is not None else float("nan") for v in series.get(key, [])]
            ax.plot(t, values, style, label=key.replace("_ms", ""))
        ax.set_yscale("log")
        ax.set_xlabel("time since start (s)")
        ax.set_ylabel("latency (ms)")
        ax.set_title(f"Latency per second {title}".strip())
        ax.grid(True, which="both", alpha=0.3)
        rate = ax.twinx()
        rate.bar(t, series.get("requests", []), width=0.9, alpha=0.12, color="grey", label="replies/s")
        errors = series.get("errors", [])
        if any(errors):
            rate.bar(t, errors, width=0.9, alpha=0.5, color="red", label="errors/s")
        rate.set_ylabel("per second")
        ax.legend(loc="upper left", fontsize="small")
        return _save(fig, path)


def memory_plot(samples: list[dict], fit: dict | None, path: Path, title: str = "") -> Path:
    """Service RSS over time with the fitted growth line, and CPU % on a second axis."""
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(8, 3.2))
        t = [s["t_s"] for s in samples]
        ax.plot(t, [s["rss_mb"] for s in samples], "-o", markersize=2, label="RSS (MB)")
        if fit and fit.get("slope_mb_per_min") is not None:
            t0, t1 = fit["window_s"]
            slope_s = fit["slope_mb_per_min"] / 60.0
            ax.plot([t0, t1], [fit["intercept_mb"] + slope_s * t0, fit["intercept_mb"] + slope_s * t1], "r--",
                    label=f"fit {fit['slope_mb_per_min']:+.2f} MB/min")
        ax.set_xlabel("time since start (s)")
        ax.set_ylabel("RSS (MB)")
        ax.set_title(f"Service memory {title}".strip())
        ax.grid(True, alpha=0.3)
        cpu = ax.twinx()
        cpu.plot(t, [s["cpu_pct"] if s["cpu_pct"] is not None else float("nan") for s in samples], color="grey",
                 alpha=0.5, label="CPU %")
        cpu.set_ylabel("CPU %")
        ax.legend(loc="upper left", fontsize="small")
        return _save(fig, path)


def _save(fig, path: Path) -> Path:
    path = Path(path)
    try:
        fig.tight_layout()
        fig.savefig(path, format="svg", metadata={"Date": None})
    finally:
        plt.close(fig)
    return path
