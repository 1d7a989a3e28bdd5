"""What the performance suite does, as a library: run the gate's load against an endpoint, record evidence.

The suite and the self-tests call the same two functions, so a fault self-test exercises exactly the
code that decides the gate:
- `run(endpoint, settings, out_dir)`: one load run (shape from the gate's `load` settings) in its own
  process, with the service's resources sampled on the target meanwhile;
- `record(evidence, outcome, gates, criteria)`: one measurement per criterion, each against the gate's
  threshold, with the run's files (Locust CSVs and HTML report, every request, resource samples, plots)
  saved as artifacts and the per-second series for the report's plots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ivv.load import figures as fig
from ivv.load.launch import LoadOutcome, run_load
from ivv.load.resources import ProcessSelector
from ivv.load.spec import spec_from_settings

ARTIFACTS_LOAD = ("locust_report.html", "locust_stats.csv", "locust_stats_history.csv", "locust_failures.csv",
                  "locust_exceptions.csv", "requests.csv", "result.json", "latency.svg")
ARTIFACTS_RESOURCES = ("resources.csv", "resources.json", "memory.svg")
RUN_SETTINGS = ("workers", "sample_interval_s", "warmup_s")


@dataclass
class LoadEndpoint:
    """Where the load goes and whose resources are sampled: the RPC URL as the harness reaches it, a
    credential with the role the task mix needs, and how to find the service process on the target."""

    url: str
    token: str | None
    target: object | None = None
    selector: ProcessSelector | None = None
    default_params: dict | None = None
    tls_verify: bool = True
    ca_file: str | None = None
    extra: dict = field(default_factory=dict)


def endpoint_for(stack, role: str | None = None) -> LoadEndpoint:
    """The load endpoint of a running stack (ivv.stack.base.Stack): its API URL, a token with the
    highest role of the profile (the task mix may call admin methods), and the service process to sample
    where the stack can say which it is (else the memory figures are NOT VERIFIED with the reason)."""
    from ivv.errors import CapabilityMissing

    profile = stack.profile
    role = role or (profile.auth.get("roles") or ["admin"])[-1]
    token = stack.credentials().token(role)
    device = (profile.camera or {}).get("device")
    defaults = {"get_camera_status": {"device": device}} if device else None
    try:
        target, selector = stack.process("service")
    except CapabilityMissing as exc:
        target, selector = None, None
        reason = str(exc)
    else:
        reason = None
    api = stack.api
    return LoadEndpoint(api.url, token, target, selector, defaults, tls_verify=api.verify_tls, ca_file=api.ca_file,
                        extra={"sampling": reason} if reason else {})


def run(endpoint: LoadEndpoint, settings: dict, out_dir: str | Path, source: str = "gate settings `load`",
        **overrides) -> LoadOutcome:
    """One bounded load run with the given shape; `workers` > 0 uses Locust master + worker processes."""
    settings = {**(settings or {}), **{k: v for k, v in overrides.items() if v is not None}}
    run_opts = {k: settings.pop(k) for k in RUN_SETTINGS if k in settings}
    spec = spec_from_settings(endpoint.url, settings, source=source, default_params=endpoint.default_params,
                              tls_verify=endpoint.tls_verify, ca_file=endpoint.ca_file)
    return run_load(spec, out_dir, token=endpoint.token, workers=int(run_opts.get("workers", 0) or 0),
                    target=endpoint.target, selector=endpoint.selector,
                    sample_interval_s=float(run_opts.get("sample_interval_s", 1.0)),
                    warmup_s=run_opts.get("warmup_s"))


def figures_for(outcome: LoadOutcome, criteria) -> list[fig.Figure]:
    wanted = set(criteria)
    shape = fig._shape(outcome.result)
    figures = [f for f in fig.load_figures(outcome.result) if f.criterion in wanted]
    memory = [c for c in (*fig.MEMORY, *fig.GROWTH) if c in wanted]
    if memory:
        if outcome.samples:
            figures += fig.memory_figures(outcome.fit, outcome.samples, shape,
                                          growth="perf.memory_growth" in wanted, peak="perf.memory_mb" in wanted)
        else:
            figures += [fig.Figure(c, "service resources during the load", None, "MB",
                                   {"reason": "no resource samples: no target/process to sample, or the "
                                              "process was never found", "errors": outcome.sampler_errors[:5]})
                        for c in memory]
    return figures


def record(evidence, outcome: LoadOutcome, gates, criteria) -> list:
    """Save the run's files and record one measurement per criterion (threshold from the gate)."""
    files = outcome.files()
    saved = {name: evidence.artifact(name, path) for name, path in files.items()
             if name in ARTIFACTS_LOAD + ARTIFACTS_RESOURCES}
    figures = figures_for(outcome, criteria)
    thresholds = {f.criterion: evidence.threshold_for(f.criterion) for f in figures}
    summary_table = fig.table(figures, thresholds)
    records = []
    for i, f in enumerate(figures):
        names = ARTIFACTS_RESOURCES if f.criterion in fig.MEMORY + fig.GROWTH else ARTIFACTS_LOAD
        arts = [saved[n] for n in names if n in saved]
        details = dict(f.details)
        if i == 0:
            details["table"] = summary_table
        if f.value is None:
            records.append(evidence.gap(f.criterion, f"{f.name}: {details.get('reason', 'not measured')}",
                                        details=details))
            continue
        records.append(evidence.measure(f.criterion, f.name, f.value, unit=f.unit, artifacts=arts, details=details,
                                        series=f.series))
    return records


def evaluate(outcome: LoadOutcome, gates, criteria, journal_path: str | Path | None = None) -> dict[str, dict]:
    """Record the outcome into an evidence journal (default: beside the run) and derive the verdicts of
    `criteria` exactly as a gate run would: {criterion: {"verdict", "reason", ...}}."""
    from ivv.evidence.journal import Journal, Recorder
    from ivv.evidence.verdicts import derive

    journal = Journal(journal_path or outcome.out_dir / "evidence.jsonl")
    try:
        recorder = Recorder(journal, Path(journal.path).parent, gates=gates, test="ivv load", suite="performance")
        records = record(recorder, outcome, gates, criteria)
    finally:
        journal.close()
    verdicts = derive(records, gates)["criteria"]
    return {c: verdicts[c] for c in criteria if c in verdicts}
