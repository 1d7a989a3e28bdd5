"""A run against its baseline, criterion by criterion and device by device (`ivv compare`), and the same
view as Markdown and HTML (templates compare.{md,html}.j2 with the part pair part-compare).

Each figure is the binding value of a measured criterion on a device (ivv.evidence.baseline). A figure
with a regression limit (the run's gate `regression:`, or `--limit ID=LIMIT`) is judged by the one rule
of ivv.evidence.regression, the same that decides the gate's trend.* criteria: REGRESSION when the change
the data make certain is beyond the limit. A figure without a limit shows its change and is never
flagged. A comparison is a view of two verified bundles, not evidence: it is written beside the run's
bundle (`compare-<baseline run>/`), never into its sealed files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ivv.evidence import baseline as baseline_lib
from ivv.evidence import regression
from ivv.evidence.bundle import Bundle
from ivv.evidence.redact import redact
from ivv.evidence.thresholds import convert

REGRESSION, WITHIN, NO_LIMIT, NOT_JUDGED, ONLY_BASE, ONLY_RUN = (
    "REGRESSION", "within limit", "no limit", "not judged", "only in the baseline", "only in this run")


@dataclass
class Row:
    criterion: str
    target: str
    name: str
    unit: str | None
    baseline: float | None
    run: float | None
    delta: float | None
    percent: float | None
    limit: str | None
    worsening: str | None       # the judged worsening (bound), with its unit
    interval: str | None
    method: str | None
    status: str
    verdicts: str               # baseline verdict -> run verdict


def _shown(value: float | None, unit: str | None) -> str | None:
    return None if value is None else f"{value:.4g} {unit or ''}".strip()


def _row(cid: str, target: str, base, run, limit) -> Row:
    if base is None or run is None:
        only = run or base
        return Row(cid, target, only.name, only.unit, base and base.value, run and run.value, None, None,
                   limit.text if limit else None, None, None, None, ONLY_RUN if base is None else ONLY_BASE,
                   f"{base.verdict if base else '-'} -> {run.verdict if run else '-'}")
    value = convert(run.value, run.unit, base.unit)
    delta = value - base.value
    percent = 100.0 * delta / abs(base.value) if base.value else None
    status, worsening, interval, method = NO_LIMIT, None, None, None
    if limit is not None:
        change = baseline_lib.change(limit, base, run)
        method = change.method
        if not change.judged:
            status = f"{NOT_JUDGED}: {change.detail.get('why')}"
        else:
            passed = limit.threshold().check(change.bound, change.unit_of_change)
            status = WITHIN if passed else REGRESSION
            worsening = f"{change.bound:+.3g} {change.unit_of_change}"
            if change.detail.get("interval"):
                low, high = change.detail["interval"]
                interval = f"{low:+.3g} .. {high:+.3g} {change.unit_of_change}"
    return Row(cid, target, run.name, base.unit, base.value, value, delta, percent, limit.text if limit else None,
               worsening, interval, method, status, f"{base.verdict} -> {run.verdict}")


def compare(run: Bundle, base: Bundle, extra_limits: dict[str, str] | None = None) -> dict:
    """The comparison view of two bundles (both verified by the caller)."""
    limits = {limit.criterion: limit for limit in (run.gates.regression if run.gates else [])}
    for cid, text in (extra_limits or {}).items():
        limits[cid] = regression.parse(cid, text)
    mine, theirs = baseline_lib.figures(run), baseline_lib.figures(base)
    rows, used = [], set()
    for (cid, target), figure in sorted(mine.items()):
        counterpart = baseline_lib.match(theirs, cid, target)
        if counterpart is not None:
            used.add((cid, counterpart.target))
        rows.append(_row(cid, target, counterpart, figure, limits.get(cid)))
    for (cid, target), figure in sorted(theirs.items()):
        if (cid, target) not in used:
            rows.append(_row(cid, target, figure, None, limits.get(cid)))
    regressions = [r for r in rows if r.status == REGRESSION]
    return {"run": run.manifest.get("run_id"), "baseline": base.manifest.get("run_id"),
            "run_started": run.manifest.get("started"), "baseline_started": base.manifest.get("started"),
            "rows": [dict(vars(r), baseline_text=_shown(r.baseline, r.unit), run_text=_shown(r.run, r.unit),
                          delta_text=None if r.delta is None else f"{r.delta:+.4g} {r.unit or ''}".strip(),
                          percent_text=None if r.percent is None else f"{r.percent:+.1f} %") for r in rows],
            "regressions": [f"{r.criterion} on {r.target}" for r in regressions],
            "limits": {cid: limit.describe() for cid, limit in sorted(limits.items())}}


def write(view: dict, out_dir: str | Path, templates: str | Path | None = None) -> dict[str, Path]:
    from ivv.report.render import environment

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    env = environment(templates)
    paths = {}
    for kind, template, name in (("markdown", "compare.md.j2", "compare.md"), ("html", "compare.html.j2", "compare.html")):
        path = out / name
        path.write_text(redact(env.get_template(template).render(**view)), encoding="utf-8")
        paths[kind] = path
    return paths
