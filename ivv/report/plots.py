"""SVG plots of recorded series, rendered deterministically (same series -> byte-identical SVG).

A record's `series` is `{"values": [...], "unit": "ms", "x": [...] optional, "label": "..." optional}`;
the plot draws it against its index (or `x`) with the record's threshold as a dashed line.
"""

from __future__ import annotations

import io
import re
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the headless backend

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


def series_values(series: dict[str, Any]) -> list[float]:
    return [float(v) for v in series.get("values", []) if isinstance(v, (int, float)) and not isinstance(v, bool)]


def svg_for(series: dict[str, Any], title: str, threshold: dict | None = None) -> str | None:
    """The SVG text of one series plot, or None when there is nothing to draw."""
    values = series_values(series)
    if not values:
        return None
    xs = series.get("x") if isinstance(series.get("x"), list) and len(series["x"]) == len(values) else None
    label = series.get("label") or title
    if len(values) > MAX_POINTS:  # keep the SVG small; the max per bucket keeps every spike visible
        size = -(-len(values) // MAX_POINTS)
        xs = [xs[i] for i in range(0, len(values), size)] if xs is not None else \
            [i + 1 for i in range(0, len(values), size)]
        values = [max(values[i:i + size]) for i in range(0, len(values), size)]
        label = f"{label} (max of each {size} samples)"
    unit = series.get("unit") or ""
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(6.0, 2.4), dpi=100)
        try:
            x = xs if xs is not None else list(range(1, len(values) + 1))
            xs_given = series.get("x") is not None
            marker = "o" if len(values) <= 30 else None
            ax.plot(x, values, marker=marker, markersize=3, linewidth=1.2, color="#1f5fa8",
                    label=label)
            if threshold and threshold.get("value") is not None and (threshold.get("unit") or "") == unit:
                ax.axhline(threshold["value"], color="#b3261e", linestyle="--", linewidth=1,
                           label=f"threshold {threshold.get('text', '')}")
            ax.set_title(title, fontsize=9)
            ax.set_xlabel(series.get("x_label") or ("" if xs_given else "sample"))
            ax.set_ylabel(unit)
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
