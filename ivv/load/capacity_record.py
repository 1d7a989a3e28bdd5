"""The capacity search from the suite's side: build its spec from the gate, run it, record the evidence.

The step limits are the gate's thresholds of the criteria in `capacity.limits`, the minimum capacity is
the threshold of `perf.capacity`, the generator's lag bound is `capacity.max_send_lag_p99_ms`: nothing
is typed here. The service's CPU and RSS are sampled on the target through the whole search and split
per step. Evidence: one record for `perf.capacity` with the step table in its details, the p95 per step
against the offered rate as its series (p50 and p99 ride along), and `capacity.svg` (p50/p95/p99 and the
service's CPU per step) with the run's files as artifacts. When the search cannot decide the gate's
minimum (see `ivv.load.capacity.Conclusion`) the record is a gap: NOT VERIFIED with the reason.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import matplotlib.pyplot as plt

from ivv.errors import ConfigError
from ivv.evidence.thresholds import Threshold
from ivv.load.capacity import GENERATOR, CapacitySettings, Conclusion
from ivv.load.launch import LoadOutcome, run_load
from ivv.load.spec import spec_from_settings
from ivv.report import plots

CRITERION = "perf.capacity"
ARTIFACTS = ("capacity.svg", "result.json", "requests.csv", "locust_stats.csv", "locust_report.html",
             "latency.svg", "resources.csv", "memory.svg")
LOAD_KEYS = ("task_mix", "timeout_s", "spawn_rate", "authenticate")


def build_spec(endpoint, gates, load_settings: dict | None, capacity_settings: dict | None,
               source: str = "gate settings `capacity`"):
    """The search's LoadSpec: the load's task mix and call timeout, the capacity shape, the gate's limits."""
    settings = CapacitySettings.from_settings(capacity_settings, source)
    limits = {}
    for criterion in settings.limits:
        known = gates.get(criterion) if gates is not None else None
        if known is None or known.threshold is None:
            raise ConfigError(f"{source}: capacity.limits names {criterion}, which has no threshold in the gate")
        limits[criterion] = known.threshold.to_dict()
    minimum = gates.get(CRITERION) if gates is not None else None
    base = {k: v for k, v in (load_settings or {}).items() if k in LOAD_KEYS}
    shape = {"users": settings.users, "duration_s": settings.max_seconds, "arrival_rate_per_s": settings.start_rate,
             "max_requests": settings.max_calls}
    spec = spec_from_settings(endpoint.url, {**base, **shape}, source=source, default_params=endpoint.default_params,
                              tls_verify=endpoint.tls_verify, ca_file=endpoint.ca_file)
    plan = {"settings": asdict(settings), "limits": limits,
            "minimum": minimum.threshold.to_dict() if minimum is not None and minimum.threshold else None}
    return replace(spec, steps=plan)


def run(endpoint, gates, load_settings: dict | None, capacity_settings: dict | None, out_dir: str | Path,
        sample_interval_s: float = 1.0) -> LoadOutcome:
    """One bounded search (`capacity.max_seconds` plus the call timeout and a start margin)."""
    spec = build_spec(endpoint, gates, load_settings, capacity_settings)
    outcome = run_load(spec, out_dir, token=endpoint.token, target=endpoint.target, selector=endpoint.selector,
                       sample_interval_s=sample_interval_s)
    add_resources(outcome)
    plot(outcome, Path(out_dir) / "capacity.svg")
    return outcome


def steps_of(outcome: LoadOutcome) -> list[dict]:
    return list(outcome.result.get("capacity", {}).get("steps", []))


def add_resources(outcome: LoadOutcome) -> None:
    """The service's mean CPU % and peak RSS in each step's window, from the samples of the whole run."""
    for step in steps_of(outcome):
        inside = [s for s in outcome.samples if step["started"] < s["wall"] <= step["ended"]]
        cpu = [s["cpu_pct"] for s in inside if s["cpu_pct"] is not None]
        step["figures"]["service_cpu_pct"] = round(sum(cpu) / len(cpu), 1) if cpu else None
        step["figures"]["service_rss_mb"] = max((s["rss_mb"] for s in inside), default=None)
    outcome.result.setdefault("capacity", {})["steps_with_resources"] = bool(outcome.samples)


def conclusion(outcome: LoadOutcome, minimum: Threshold | None) -> Conclusion:
    """The claim, decided again here with the recorder's threshold (the one the report re-derives with)."""
    steps = steps_of(outcome)
    clean = [s["rate"] for s in steps if s["verdict"] == "clean"]
    over = [s["rate"] for s in steps if s["verdict"] == "over"]
    stop = outcome.result.get("capacity", {}).get("conclusion", {}).get("stop_reason", "not run")
    return Conclusion.of(max(clean) if clean else None, min(over) if over else None, stop, minimum,
                         any(s["verdict"] == GENERATOR for s in steps))


def table(steps: list[dict]) -> dict:
    rows = []
    for s in sorted(steps, key=lambda s: s["index"]):
        f = s["figures"]
        rows.append([s["index"] + 1, s["phase"], f"{s['rate']:g}", _num(f.get("achieved_rps")), _num(f.get("p50_ms")),
                     _num(f.get("p95_ms")), _num(f.get("p99_ms")), _num(f.get("error_pct")),
                     _num(f.get("send_lag_p99_ms")), _num(f.get("service_cpu_pct")), _num(f.get("service_rss_mb")),
                     s["verdict"] + (f": {'; '.join(s['reasons'])}" if s["reasons"] else "")])
    return {"title": "Capacity search (open model, one row per step)",
            "columns": ["Step", "Phase", "Offered req/s", "Achieved req/s", "p50 ms", "p95 ms", "p99 ms", "Errors %",
                        "Send lag p99 ms", "Service CPU %", "Service RSS MB", "Verdict"], "rows": rows}


def _num(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def series(steps: list[dict]) -> dict:
    """p95 per judged step against its offered rate (the knee), with p50 and p99 alongside."""
    judged = sorted((s for s in steps if s["figures"].get("p95_ms") is not None), key=lambda s: s["rate"])
    return {"x": [s["rate"] for s in judged], "values": [s["figures"]["p95_ms"] for s in judged], "unit": "ms",
            "label": "p95 latency per step", "x_label": "offered rate (req/s)",
            "p50": [s["figures"]["p50_ms"] for s in judged], "p99": [s["figures"]["p99_ms"] for s in judged],
            "service_cpu_pct": [s["figures"].get("service_cpu_pct") for s in judged]}


def plot(outcome: LoadOutcome, path: Path) -> Path | None:
    """Latency percentiles per step against the offered rate (log axis), the service's CPU on the right."""
    data = series(steps_of(outcome))
    if not data["x"]:
        return None
    limits = outcome.result.get("capacity", {}).get("limits", {})
    with plt.rc_context(plots._RC):
        fig, ax = plt.subplots(figsize=(8, 3.2))
        for key, style in (("p99", ":o"), ("values", "-o"), ("p50", "--o")):
            ax.plot(data["x"], data[key], style, markersize=3, label={"values": "p95"}.get(key, key))
        p95 = limits.get("perf.p95_ms")
        if p95 and p95.get("unit") == "ms":
            ax.axhline(p95["value"], color=plots.LIMIT, linestyle="--", linewidth=1, label=f"p95 {p95['text']}")
        ax.set_yscale("log")
        ax.set_xlabel("offered rate (req/s)")
        ax.set_ylabel("latency (ms)")
        ax.set_title("Latency per step of the capacity search")
        cpu = [v if v is not None else float("nan") for v in data["service_cpu_pct"]]
        if any(v == v for v in cpu):
            right = ax.twinx()
            right.plot(data["x"], cpu, color="grey", alpha=0.6, marker="s", markersize=3, label="service CPU %")
            right.set_ylabel("service CPU %")
        ax.legend(loc="upper left", fontsize="small")
        return plots._save(fig, Path(path))


def record(evidence, outcome: LoadOutcome) -> object:
    """One record for perf.capacity: a measurement (the highest clean rate) when it decides the gate's
    minimum, else a gap saying why not; the step table, the conclusion and the artifacts either way."""
    files = outcome.files()
    extra = {n: outcome.path(n) for n in ("capacity.svg",) if outcome.path(n).exists()}
    saved = [evidence.artifact(n, p) for n, p in {**files, **extra}.items() if n in ARTIFACTS]
    minimum = evidence.threshold_for(CRITERION)
    found = conclusion(outcome, minimum)
    steps = steps_of(outcome)
    capacity = outcome.result.get("capacity", {})
    details = {"conclusion": found.to_dict(), "table": table(steps), "settings": capacity.get("settings"),
               "limits": capacity.get("limits"), "steps": steps, "shape": f"open model over "
               f"{outcome.result['spec']['users']} connections", "sampling": bool(outcome.samples)}
    name = f"highest clean open-model rate ({found.form}): {found.reason}"
    if found.verdict == "NOT VERIFIED":
        return evidence.gap(CRITERION, name, details=details)
    return evidence.measure(CRITERION, name, found.value, unit="req/s", artifacts=saved, details=details,
                            series=series(steps))
