"""The gate's performance figures from one load outcome: criterion id -> value, unit, how it was got.

One place maps a run onto the criteria, so the suite, `ivv load` and the self-tests decide the same
numbers the same way. Pure: no Locust, no network.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ivv.evidence.claim import calls_needed, upper_bound
from ivv.evidence.thresholds import Threshold

LATENCY = ("perf.avg_response_ms", "perf.p95_ms")
LOAD = ("perf.avg_response_ms", "perf.p95_ms", "perf.throughput", "perf.error_rate", "perf.connection_stability")
CAMERA = ("perf.camera_fps",)
MEMORY = ("perf.memory_mb",)
GROWTH = ("perf.memory_growth",)
TITLES = {
    "perf.avg_response_ms": "Average response time", "perf.p95_ms": "P95 response time",
    "perf.throughput": "Throughput", "perf.memory_mb": "Memory usage (peak RSS)", "perf.error_rate": "Error rate",
    "perf.connection_stability": "Connection stability", "perf.memory_growth": "Memory growth",
    "perf.camera_fps": "Camera frames per second", "perf.capacity": "Capacity",
}


@dataclass
class Figure:
    criterion: str
    name: str
    value: float | None
    unit: str
    details: dict = field(default_factory=dict)
    series: dict | None = None


def _series(xs: list, values: list, unit: str, label: str) -> dict:
    """A plot series for the report, leaving out seconds with no value (x and values stay aligned)."""
    pairs = [(x, v) for x, v in zip(xs, values, strict=True) if v is not None]
    return {"x": [p[0] for p in pairs], "values": [p[1] for p in pairs], "unit": unit, "label": label,
            "x_label": "s since start"}


def _shape(result: dict) -> str:
    spec = result["spec"]
    if result["model"] == "open":
        shape = f"open model {spec['arrival_rate_per_s']:g} req/s over {spec['users']} connections"
    else:
        shape = f"closed model {spec['users']} users"
    workers = f", {result['workers']} Locust workers" if result.get("workers") else ""
    remote = [g for g in result.get("generators") or [] if g["host"] != "harness"]
    if remote:
        workers += " (" + ", ".join(f"{g['workers']} on {g['host']}" for g in result["generators"]) + ")"
    return f"{shape}, {spec['duration_s']:g} s{workers}"


def unsent_calls(result: dict, min_calls: int = 0) -> str | None:
    """Why a run decides nothing: no call reached the service at all (zero observations: a load user
    that could not send, say, is the harness's failure, not a 100 % error rate of the stack), fewer calls
    than the gate's `load.min_calls` (zero failures in n calls bound the failure rate below 3/n at 95 %
    confidence: 30 calls for 10 %), or a worker of a distributed run never sent its calls, which leaves
    figures that look whole (its errors and slow calls missing). Either way no figure is measured."""
    made = result["summary"]["requests"]
    if not made:
        return ("the load made no call in its window (zero observations): nothing was measured; "
                "locust_exceptions.csv says why the load user could not send")
    if made < min_calls:
        return f"{made} calls, fewer than the gate's load.min_calls {min_calls}: too few to decide"
    workers, flushed = result.get("workers") or 0, result.get("workers_flushed")
    if workers and flushed is not None and flushed < workers:
        return (f"only {flushed} of {workers} Locust workers sent their calls at the end of the run: the "
                f"others' calls are missing from every figure")
    return None


def unsupported_rate(figure: Figure, limit: Threshold | None) -> str | None:
    """Why an error rate within its threshold is still no PASS: the calls do not support the bound. A
    share measured in n calls is only known to lie below its 95 % upper confidence bound (Clopper-Pearson;
    0 of n failed: about 3/n), so "below 1 %" needs at least 299 calls without a failure. An error rate
    over its threshold as measured FAILs however few the calls (the conservative side)."""
    if figure.criterion != "perf.error_rate" or figure.value is None or limit is None:
        return None
    if limit.op not in ("<", "<=") or limit.unit != "%" or not limit.check(figure.value, "%") or limit.value <= 0:
        return None
    failed, calls = int(figure.details.get("failed", 0)), int(figure.details.get("requests", 0))
    bound = 100.0 * upper_bound(failed, calls)
    if limit.check(bound, "%"):
        return None
    needed = calls_needed(limit.value / 100.0) if limit.value < 100 else 1
    return (f"{failed} of {calls} calls failed ({figure.value:.3g} %): at 95 % confidence the error rate is "
            f"only known to be below {bound:.4g} %, which does not show {limit.text} (that takes at least "
            f"{needed} calls without a failure)")


def load_values(summary: dict) -> dict[str, tuple[float | None, str]]:
    """Criterion -> (value, unit) of a run's summary: the one mapping of load figures onto criteria."""
    lat = summary["latency"]
    return {
        "perf.avg_response_ms": (lat.get("avg_ms"), "ms"),
        "perf.p95_ms": (lat.get("p95_ms"), "ms"),
        "perf.throughput": (summary["throughput_rps"], "req/s"),
        "perf.error_rate": (100.0 * summary["error_rate"], "%"),
        "perf.connection_stability": (None if summary["connections"]["ratio"] is None
                                      else 100.0 * summary["connections"]["ratio"], "%"),
    }


def load_figures(result: dict, min_calls: int = 0) -> list[Figure]:
    """Latency, throughput, errors and stability of one run (result.json of the load process)."""
    s, series = result["summary"], result["series"]
    lat = s["latency"]
    shape = _shape(result)
    t = series["t_s"]
    common = {"shape": shape, "requests": s["requests"], "window_s": round(s["window_s"], 3),
              "percentiles_ms": {k: v for k, v in lat.items() if k.startswith("p") or k == "max_ms"},
              "locust": result.get("locust"), "errors": s["errors"], "error_examples": s["error_examples"][:5]}
    if result["model"] == "open":
        common["send_lag_p99_ms"] = s["send_lag"].get("p99_ms")
    per_second_error_pct = [round(100.0 * e / (e + k), 3) if e + k else 0.0
                            for e, k in zip(series["errors"], series.get("ok", series["requests"]), strict=True)]
    v = {c: value for c, (value, _unit) in load_values(s).items()}
    missing = unsent_calls(result, min_calls)
    if missing:
        v, common = {c: None for c in v}, {**common, "reason": missing}
    unseen = {} if missing or v["perf.connection_stability"] is not None else \
        {"reason": "no connection was opened or refused in the run (or the load user could not count its "
                   "connections): nothing says whether connections were kept"}
    return [
        Figure("perf.avg_response_ms", f"mean latency of {lat.get('count', 0)} calls ({shape})",
               v["perf.avg_response_ms"], "ms", common, _series(t, series["p50_ms"], "ms", "median per second")),
        Figure("perf.p95_ms", f"p95 latency, HDR histogram of every call ({shape})", v["perf.p95_ms"], "ms",
               common, _series(t, series["p95_ms"], "ms", "p95 per second")),
        Figure("perf.throughput", f"successful replies per second ({shape})", v["perf.throughput"], "req/s",
               {**common, "offered_rps": s["offered_rps"], "ok": s["ok"]},
               _series(t, series.get("ok", series["requests"]), "req/s", "successful calls per second")),
        Figure("perf.error_rate", f"failed calls / all calls ({s['failed']} of {s['requests']}; {shape})",
               v["perf.error_rate"], "%", {**common, "not_sent": s["not_sent"], "failed": s["failed"]},
               _series(t, per_second_error_pct, "%", "failed calls per second")),
        Figure("perf.connection_stability",
               f"connections kept / opened ({s['connections']['kept']} of {s['connections']['opened']}; {shape})",
               v["perf.connection_stability"], "%", {**common, **unseen, "connections": s["connections"],
                                                     "setup": s["setup"]}),
    ]


def memory_figures(fit: dict, samples: list[dict], shape: str, growth: bool = True, peak: bool = True) -> list[Figure]:
    """Peak RSS and the least-squares growth slope of the service during a run."""
    rss = _series([s["t_s"] for s in samples], [s["rss_mb"] for s in samples], "MB", "service RSS")
    details = {k: fit.get(k) for k in ("process", "pids", "samples", "interval_s", "warmup_s", "window_s",
                                        "steady_mb", "peak_mb", "slope_mb_per_min", "missing")}
    details["shape"] = shape
    out = []
    if peak:
        out.append(Figure("perf.memory_mb", f"peak RSS of the service ({fit.get('process')}) under load ({shape})",
                          fit.get("peak_mb"), "MB", details, rss))
    if growth:
        out.append(Figure("perf.memory_growth",
                          f"RSS growth, least squares over the steady window ({shape})",
                          fit.get("slope_mb_per_min"), "MB/min", details, rss))
    return out


def camera_figure(counted: dict | None, route: str, answered: int, errors: dict, shape: str,
                  reason: str | None = None) -> Figure:
    """Sustained camera fps during the load: the lowest fps over any `window_s` (see ivv.load.frames).
    A route that never answered is not measured (NOT VERIFIED), unlike one that answered and stalled."""
    details = {"route": route, "answered": answered, "errors": errors, "shape": shape, **(counted or {})}
    name = f"camera frames per second, lowest of any {details.get('window_s', '?')} s window ({shape})"
    if reason or not answered or counted is None or counted.get("sustained_fps") is None:
        why = reason or (f"the frame route never answered ({', '.join(errors) or 'no answer'})" if not answered
                         else "the load window is shorter than one fps window")
        return Figure(CAMERA[0], name, None, "fps", {**details, "reason": why})
    per_second = counted.get("per_second", [])
    return Figure(CAMERA[0], name, counted["sustained_fps"], "fps", details,
                  _series(list(range(len(per_second))), per_second, "fps", "frames delivered per second"))


def verdict(figure: Figure, threshold: Threshold | None) -> str:
    if figure.value is None or unsupported_rate(figure, threshold):
        return "NOT VERIFIED"
    if threshold is None:
        return "NO THRESHOLD"
    return "PASS" if threshold.check(figure.value, figure.unit) else "FAIL"


def table(figures: list[Figure], thresholds: dict[str, Threshold | None]) -> dict:
    """The seeds' performance table (metric, target, measured, verdict), measured."""
    rows = []
    for f in figures:
        limit = thresholds.get(f.criterion)
        measured = "not measured" if f.value is None else f"{f.value:.2f} {f.unit}"
        rows.append([TITLES.get(f.criterion, f.criterion), limit.text if limit else "-", measured, verdict(f, limit)])
    return {"title": "Performance under load (measured)", "columns": ["Metric", "Target", "Measured", "Verdict"],
            "rows": rows}
