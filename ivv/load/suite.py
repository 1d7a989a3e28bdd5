"""What the performance suite does, as a library: run the gate's load against an endpoint, record evidence.

The suite and the self-tests call the same two functions, so a fault self-test exercises exactly the
code that decides the gate:
- `run(endpoint, settings, out_dir, camera=...)`: one load run (shape from the gate's `load` settings) in
  its own process, with the service's resources sampled on the target meanwhile and, given the gate's
  `camera` settings, the camera's frames read from the profile's frame route;
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
ARTIFACTS_CAMERA = ("frames.csv",)
RUN_SETTINGS = ("workers", "sample_interval_s", "warmup_s", "min_calls")


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
    frames: object | None = None        # ivv.load.camera_watch.FrameRoute (None: reason in extra["frames"])


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
    from ivv.load.camera_watch import route_for

    frames, no_frames = route_for(stack)
    extra = {k: v for k, v in (("sampling", reason), ("frames", no_frames)) if v}
    api = stack.api
    return LoadEndpoint(api.url, token, target, selector, defaults, tls_verify=api.verify_tls, ca_file=api.ca_file,
                        extra=extra, frames=frames)


def run(endpoint: LoadEndpoint, settings: dict, out_dir: str | Path, source: str = "gate settings `load`",
        camera: dict | None = None, hosts=(), **overrides) -> LoadOutcome:
    """One bounded load run with the given shape; `workers` > 0 or load-generator `hosts`
    (ivv.load.remote) use Locust master + worker processes. With `camera` (the gate's `camera` settings,
    `{window_s}`) the camera's frames are read meanwhile."""
    settings = {**(settings or {}), **{k: v for k, v in overrides.items() if v is not None}}
    run_opts = {k: settings.pop(k) for k in RUN_SETTINGS if k in settings}
    spec = spec_from_settings(endpoint.url, settings, source=source, default_params=endpoint.default_params,
                              tls_verify=endpoint.tls_verify, ca_file=endpoint.ca_file)
    outcome = run_load(spec, out_dir, token=endpoint.token, workers=int(run_opts.get("workers", 0) or 0),
                       target=endpoint.target, selector=endpoint.selector,
                       sample_interval_s=float(run_opts.get("sample_interval_s", 1.0)),
                       warmup_s=run_opts.get("warmup_s"), frames=endpoint.frames if camera is not None else None,
                       hosts=hosts)
    if camera is not None:
        outcome.frames = {**(outcome.frames or {}), "settings": dict(camera),
                          "reason": endpoint.extra.get("frames")}
    return outcome


def figures_for(outcome: LoadOutcome, criteria, min_calls: int = 0) -> list[fig.Figure]:
    wanted = set(criteria)
    shape = fig._shape(outcome.result)
    figures = [f for f in fig.load_figures(outcome.result, min_calls) if f.criterion in wanted]
    if fig.CAMERA[0] in wanted:
        figures.append(camera_figure(outcome, shape))
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


def camera_figure(outcome: LoadOutcome, shape: str) -> fig.Figure:
    """perf.camera_fps from the frames read during the load window (see ivv.load.frames)."""
    from ivv.load import frames as frames_lib

    watched = outcome.frames or {}
    route, watch = watched.get("route"), watched.get("watch")
    if route is None or watch is None:
        reason = watched.get("reason") or "the camera was not watched during this run"
        return fig.camera_figure(None, "-", 0, {}, shape, reason=reason)
    window_s = float((watched.get("settings") or {}).get("window_s", 5.0))
    frames, seen = frames_lib.frames_from_events(watch.events, route.spec)
    frames_lib.write_csv(frames, outcome.path("frames.csv"))
    start, end = outcome.summary["window"]  # while calls were made: set-up and drain are not load
    counted = frames_lib.count(frames, start, end, route.spec, window_s)
    errors = {**seen["errors"], **({"watcher": watch.errors[:3]} if watch.errors else {})}
    return fig.camera_figure(counted, route.label, seen["answered"], errors, shape)


def record(evidence, outcome: LoadOutcome, gates, criteria) -> list:
    """Save the run's files and record one measurement per criterion (threshold from the gate); a criterion
    no loaded gate holds is not recorded (a gate without perf.camera_fps asked for no such figure)."""
    criteria = [c for c in criteria if not gates or c in gates]
    files = outcome.files()
    min_calls = int((gates.setting("load", {}) or {}).get("min_calls") or 0) if gates else 0
    figures = figures_for(outcome, criteria, min_calls)
    files = {**files, **{n: outcome.path(n) for n in ARTIFACTS_CAMERA if outcome.path(n).exists()}}
    saved = {name: evidence.artifact(name, path) for name, path in files.items()
             if name in ARTIFACTS_LOAD + ARTIFACTS_RESOURCES + ARTIFACTS_CAMERA}
    thresholds = {f.criterion: evidence.threshold_for(f.criterion) for f in figures}
    summary_table = fig.table(figures, thresholds)
    records = []
    for i, f in enumerate(figures):
        names = ARTIFACTS_RESOURCES if f.criterion in fig.MEMORY + fig.GROWTH else \
            ARTIFACTS_CAMERA if f.criterion in fig.CAMERA else ARTIFACTS_LOAD
        arts = [saved[n] for n in names if n in saved]
        details = dict(f.details)
        if i == 0:
            details["table"] = summary_table
        unsupported = fig.unsupported_rate(f, thresholds[f.criterion])
        if unsupported:
            details = {**details, "reason": unsupported, "measured": f.value}
        if f.value is None or unsupported:
            records.append(evidence.gap(f.criterion, f"{f.name}: {details.get('reason', 'not measured')}",
                                        details=details))
            continue
        records.append(evidence.measure(f.criterion, f.name, f.value, unit=f.unit, artifacts=arts, details=details,
                                        series=f.series))
    return records


def evaluate(outcome: LoadOutcome, gates, criteria, journal_path: str | Path | None = None,
             record_with=None) -> dict[str, dict]:
    """Record the outcome into an evidence journal (default: beside the run) and derive the verdicts of
    `criteria` exactly as a gate run would: {criterion: {"verdict", "reason", ...}}. `record_with(evidence,
    outcome)` records instead of `record` (the capacity search's `ivv.load.capacity_record.record`)."""
    from ivv.evidence.journal import Journal, Recorder
    from ivv.evidence.verdicts import derive

    journal = Journal(journal_path or outcome.out_dir / "evidence.jsonl")
    try:
        recorder = Recorder(journal, Path(journal.path).parent, gates=gates, test="ivv load", suite="performance")
        records = record_with(recorder, outcome) if record_with else record(recorder, outcome, gates, criteria)
        records = records if isinstance(records, list) else [records]
    finally:
        journal.close()
    verdicts = derive(records, gates)["criteria"]
    return {c: verdicts[c] for c in criteria if c in verdicts}
