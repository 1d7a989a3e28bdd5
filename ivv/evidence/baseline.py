"""Figures of a run and its baseline: the binding value of each measured criterion on each device, with
the raw samples behind it where there are any; the baseline chosen from a folder of runs; the baseline
copied into a run, so a run's report renders from its own bundle alone; and the `trend.*` records.

Raw samples of a figure, in this order: the binding record's own `details.samples`
(`{"artifact": "x.csv", "column": "ms", "statistic": "p95"}`); the known artifacts of a criterion
(`SAMPLE_SOURCES`: every call's latency in the performance suite's requests.csv); a set of three or more
repeats (the median, ivv.evidence.binding). Otherwise the figure alone is compared.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ivv.config.gates import TREND_SUITE
from ivv.errors import ConfigError
from ivv.evidence import binding as binding_lib
from ivv.evidence import regression
from ivv.evidence.bundle import EVIDENCE, MANIFEST, Bundle
from ivv.evidence.integrity import ALTERED, UNCHAINED, sha256_file
from ivv.evidence.journal import Record
from ivv.evidence.thresholds import convert
from ivv.evidence.verdicts import derive

COPY = "baseline.json"
REPEATS_MIN = 3


@dataclass(frozen=True)
class Samples:
    artifact: str          # file name of one of the binding record's artifacts
    column: str
    statistic: str
    where: str | None = None   # a column that must be true ("True") for the row to count


SAMPLE_SOURCES = {
    "perf.p95_ms": Samples("requests.csv", "latency_ms", "p95", "sent"),
    "perf.avg_response_ms": Samples("requests.csv", "latency_ms", "mean", "sent"),
}


@dataclass
class Figure:
    criterion: str
    target: str
    value: float
    unit: str | None
    name: str
    seq: int
    verdict: str
    samples: list[float] | None = None
    statistic: str | None = None
    source: str | None = None      # where the samples came from
    threshold: dict | None = None  # what the binding record was judged by

    def as_dict(self) -> dict:
        return asdict(self)


def _csv_samples(path: Path, spec: Samples) -> list[float] | None:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError:
        return None
    out = []
    for row in rows:
        if spec.where and str(row.get(spec.where, "")).strip().lower() not in ("true", "1", "yes"):
            continue
        try:
            out.append(float(row[spec.column]))
        except (KeyError, TypeError, ValueError):
            continue
    return out or None


def _samples(bundle_dir: Path, record: Record, own: list[Record]) -> tuple[list[float] | None, str | None, str | None]:
    details = record.details if isinstance(record.details, dict) else {}
    declared = details.get("samples")
    spec = Samples(**declared) if isinstance(declared, dict) else SAMPLE_SOURCES.get(str(record.criterion))
    if spec is not None:
        for art in record.artifacts:
            if art.get("path", "").rsplit("/", 1)[-1] == spec.artifact:
                values = _csv_samples(bundle_dir / art["path"], spec)
                if values:
                    return values, spec.statistic, f"{art['path']} column {spec.column}"
    members = binding_lib.groups(own).get(binding_lib.repeat_key(record), [])
    values = []
    for member in members:
        try:
            values.append(convert(float(member.value), member.unit, record.unit))
        except (TypeError, ValueError):
            continue
    if len(values) >= REPEATS_MIN:
        return values, "median", f"{len(values)} repeats of {binding_lib.repeat_key(record)!r}"
    return None, None, None


def figures_of(bundle_dir: Path, records: list[Record], verdicts: dict) -> dict[tuple[str, str], Figure]:
    """{(criterion, target): Figure} for every binding measurement of a run."""
    by_seq = {r.seq: r for r in records}
    out = {}
    for cid, entry in verdicts["criteria"].items():
        if cid.startswith("trend."):
            continue
        for target, sub in (entry.get("targets") or {}).items():
            record = by_seq.get(sub.get("binding"))
            if record is None or record.kind != "measurement" or isinstance(record.value, bool):
                continue
            own = [by_seq[s] for s in sub.get("evidence", []) if s in by_seq]
            samples, stat, source = _samples(Path(bundle_dir), record, own)
            out[(cid, target)] = Figure(cid, target, float(record.value), record.unit, record.name, record.seq,
                                        str(sub.get("verdict")), samples, stat, source, record.threshold)
    return out


def verified(path: str | Path, what: str = "baseline") -> Bundle:
    """A bundle that verifies (ConfigError naming the first problem otherwise): history must be evidence."""
    bundle = Bundle.load(path)
    found = bundle.verify()
    if found.status == ALTERED:
        raise ConfigError(f"{what} {bundle.path}: the bundle was altered after its run "
                          f"({found.problems[0].text}); it cannot be a {what}")
    if found.status == UNCHAINED:
        raise ConfigError(f"{what} {bundle.path}: written before bundle format 2 (nothing to verify)")
    return bundle


def figures(bundle: Bundle) -> dict[tuple[str, str], Figure]:
    records = bundle.records()
    verdicts = derive(records, bundle.gates, bundle.waivers(), bundle.run_date(), selection=bundle.selection(),
                      fleet=bundle.fleet_targets())
    return figures_of(bundle.path, records, verdicts)


def resolve(path: str | Path, exclude: str | Path | None = None) -> Path:
    """A bundle, or the newest bundle in a folder of bundles (by start time) other than `exclude` that
    verifies; ConfigError when there is none."""
    path = Path(path)
    if (path / MANIFEST).exists():
        return path.resolve()
    if not path.is_dir():
        raise ConfigError(f"--baseline {path}: neither a run bundle nor a folder of bundles")
    skip = Path(exclude).resolve() if exclude else None
    found = []
    for folder in sorted(p for p in path.iterdir() if p.is_dir() and not p.is_symlink() and (p / MANIFEST).exists()):
        if folder.resolve() == skip:
            continue
        try:
            bundle = verified(folder)
        except ConfigError:
            continue
        found.append((str(bundle.manifest.get("started") or ""), folder.resolve()))
    if not found:
        raise ConfigError(f"--baseline {path}: no bundle there verifies, so there is nothing to compare with")
    return max(found)[1]


def copy_into(run: Bundle, baseline_path: str | Path) -> dict:
    """Copy the baseline's figures (with their samples), its run id and digests into the run's bundle:
    an artifact `baseline.json` and the manifest entry `baseline`. Returns the copy."""
    baseline = verified(baseline_path)
    figs = figures(baseline)
    evidence = baseline.path / EVIDENCE
    copy = {"run_id": baseline.manifest.get("run_id"), "path": str(baseline.path),
            "started": baseline.manifest.get("started"),
            "manifest_sha256": sha256_file(baseline.path / MANIFEST),
            "evidence_sha256": sha256_file(evidence) if evidence.exists() else None,
            "seal": (baseline.manifest.get("seal") or {}).get("evidence") or {},
            "gates": [{"id": g["id"], "sha256": g["sha256"]} for g in baseline.manifest.get("gates") or []],
            "targets": sorted({t for _, t in figs}),
            "figures": [f.as_dict() for _, f in sorted(figs.items())]}
    art = run.recorder(test="ivv baseline").artifact(COPY, json.dumps(copy, indent=1, sort_keys=True))
    run.set_manifest("baseline", {k: copy[k] for k in ("run_id", "path", "started", "manifest_sha256",
                                                         "evidence_sha256", "seal")} | {"copy": art.to_dict()})
    return copy


def load_copy(bundle_dir: Path, manifest: dict) -> dict | None:
    entry = (manifest.get("baseline") or {}).get("copy")
    if not entry:
        return None
    return json.loads((Path(bundle_dir) / entry["path"]).read_text(encoding="utf-8"))


def match(copy_figures: dict[tuple[str, str], Figure], criterion: str, target: str) -> Figure | None:
    """The baseline's figure for a device: the same device, else the only device of a one-device baseline."""
    if (criterion, target) in copy_figures:
        return copy_figures[(criterion, target)]
    own = [f for (cid, _), f in copy_figures.items() if cid == criterion]
    targets = {t for _, t in copy_figures}
    return own[0] if len(own) == 1 and len(targets) == 1 else None


def from_copy(copy: dict) -> dict[tuple[str, str], Figure]:
    return {(f["criterion"], f["target"]): Figure(**f) for f in copy.get("figures") or []}


def change(limit: regression.Limit, base: Figure, run: Figure) -> regression.Change:
    """The regression rule on two figures (the run's value in the baseline's unit)."""
    try:
        value = convert(run.value, run.unit, base.unit)
    except ValueError as exc:
        raise ConfigError(f"{limit.criterion}: the run measured {run.unit}, the baseline {base.unit} ({exc})") from None
    both = base.samples and run.samples and base.statistic == run.statistic
    run_samples = [convert(v, run.unit, base.unit) for v in run.samples] if both else None
    return regression.judge(limit, base.value, value, base.unit, base.samples if both else None, run_samples,
                            base.statistic if both else None)


def _trend(limit: regression.Limit, base: Figure, run: Figure, copy: dict) -> tuple[float | None, str, dict]:
    """(the value recorded for trend.<id>, its name, its details) of one device."""
    found = change(limit, base, run)
    floor = f", beyond the {limit.min_effect:g} {limit.min_effect_unit or base.unit or ''} noise floor" \
        if limit.min_effect else ""
    how = ("lower bound of the seeded bootstrap interval (95 %) of the change in "
           f"{found.detail.get('statistic')}" if found.method == "bootstrap" else "change of the figure")
    name = f"{limit.criterion} against baseline run {copy.get('run_id')}: {how}{floor}"

    def shown(value: float) -> str:
        return f"{value:.4g} {base.unit or ''}".strip()
    interval = found.detail.get("interval")
    table = {"title": f"{limit.criterion} against its baseline",
             "columns": ["figure", "baseline", "this run", "worsening", "95 % interval", "limit"],
             "rows": [[run.name, shown(base.value), shown(found.run),
                       "-" if found.point is None else f"{found.point:+.3g} {found.unit_of_change}",
                       f"{interval[0]:+.3g} .. {interval[1]:+.3g} {found.unit_of_change}" if interval else "-",
                       limit.text + floor]]}
    details = {"table": table, "method": found.method, "limit": limit.text, "min_effect": limit.min_effect,
               "baseline": {"run_id": copy.get("run_id"), "value": base.value, "unit": base.unit, "seq": base.seq,
                            "samples": len(base.samples or []), "source": base.source},
               "run": {"value": run.value, "unit": run.unit, "seq": run.seq, "samples": len(run.samples or []),
                       "source": run.source}, **found.detail}
    return found.bound, name, details


def record_trends(bundle: Bundle) -> None:
    """Judge every regression limit of the gates on every device of the run (criteria trend.*), against
    the baseline copied into the bundle; a gap where nothing can be judged."""
    limits = bundle.gates.regression if bundle.gates else []
    if not limits:
        return
    records = bundle.records()
    copy = load_copy(bundle.path, bundle.manifest)
    if copy is None:
        for limit in limits:
            bundle.recorder(test="ivv baseline", suite=TREND_SUITE).gap(
                limit.trend_id, "no baseline run was given (ivv gate --baseline RUN_OR_DIR), so no change can be judged")
        return
    run_figures = figures_of(bundle.path, records, derive(records, bundle.gates))
    base_figures = from_copy(copy)
    artifact = (bundle.manifest.get("baseline") or {}).get("copy")
    for target in sorted({r.target for r in records if r.target}):
        recorder = bundle.recorder(test="ivv baseline", suite=TREND_SUITE, target_name=target)
        for limit in limits:
            run, base = run_figures.get((limit.criterion, target)), match(base_figures, limit.criterion, target)
            if run is None:
                recorder.gap(limit.trend_id, f"{limit.criterion} has no measured value on {target} in this run")
            elif base is None:
                recorder.gap(limit.trend_id, f"the baseline run {copy.get('run_id')} has no {limit.criterion} "
                             f"figure for {target}")
            else:
                value, name, details = _trend(limit, base, run, copy)
                if value is None:
                    recorder.gap(limit.trend_id, f"{name}: {details.get('why')}", details=details)
                else:
                    recorder.measure(limit.trend_id, name, round(value, 4), unit=limit.threshold().unit,
                                     details=details, artifacts=[artifact] if artifact else ())
