"""SVG plots of a run: latency over time (per-second percentiles) and service memory over time."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

plt.rcParams["svg.hashsalt"] = "ivv"  # same data, same SVG bytes


def latency_plot(series: dict, path: Path, title: str = "") -> Path:
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
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)
    return path
