"""Merge run bundles into one fleet bundle: the per-device runs of one `ivv gate` over a fleet, or the
bundles of several runner hosts (a CI matrix of `ivv gate --target X` jobs and one `ivv merge` job).

Every source is verified first (hash chain, seal, copies): an altered source stops the merge
(`BundleAltered`, exit status 3), and so does a source written before bundle format 2 (nothing to verify).
Sources must be decided by the same gate and waiver files (by sha256), and no target may come from two
sources, so no device is counted twice.

The merged bundle is a bundle like any other, with its own hash chain and seal:
- `sources/<run-id>/`: each source bundle, whole (its own chain, seal, artifacts and reports);
- `evidence.jsonl`: every source record, in source order (sources sorted by target), linked anew; each
  carries `origin` {"run", "seq"} naming the record it copies, artifact paths point into `sources/`, and a
  record without a target (a gate-level gap, a stopped run) gets its source's target, so it never
  spreads to another runner's devices;
- `manifest.json`: `merged_from` (each source's run id, targets, chain head and record count, manifest
  sha256 and integrity when merged), `fleet.targets` (every criterion is decided on each of them),
  `fleet.devices` (per device: source run, pre-run health check, stack, lease, phases), and the seal over
  every file of `sources/` besides the usual ones.
Verdicts are derived as for any bundle (ivv.evidence.verdicts), so the same bundle renders the same bytes.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ivv.errors import ConfigError, IvvError
from ivv.evidence import integrity
from ivv.evidence.bundle import MANIFEST, Bundle
from ivv.evidence.integrity import ALTERED, UNCHAINED, Integrity, sha256_file
from ivv.evidence.journal import Record, Recorder, now

SOURCES = "sources"
SKIP_ON_COPY = ("latest", ".latest-*", "*.tmp")
_COPIED = ("start", "end", "value", "unit", "threshold", "expected", "observed", "reason", "test", "suite",
           "details", "series", "verdict")


class BundleAltered(IvvError):
    """A source bundle does not verify: merging it would launder its changes (exit status 3)."""

    def __init__(self, bundle: Path, problems: list[str]):
        super().__init__(f"{bundle}: the bundle was altered after its run ({len(problems)} problem(s))")
        self.bundle, self.problems = bundle, problems


@dataclass
class Source:
    """One bundle taken into a merge: where it is, which targets it ran on, what its seal said."""

    path: Path
    bundle: Bundle
    integrity: Integrity
    targets: list[str]

    @property
    def run_id(self) -> str:
        return str(self.bundle.manifest.get("run_id") or self.path.name)

    def folder(self) -> str:
        return f"{SOURCES}/{self.run_id}"


def _targets(bundle: Bundle) -> list[str]:
    named = {r.target for r in bundle.records() if r.target}
    return sorted(named | set(bundle.manifest.get("targets") or {}))


def load_sources(paths) -> list[Source]:
    """Every source verified, its targets found, the merge rules checked; sorted by target."""
    sources = []
    for given in paths:
        bundle = Bundle.load(given)
        found = bundle.verify()
        if found.status == ALTERED:
            raise BundleAltered(bundle.path, [p.text for p in found.problems])
        if found.status == UNCHAINED:
            raise ConfigError(f"{bundle.path}: written before bundle format 2, so there is no hash chain or seal "
                              "to verify; a merge takes only bundles it can verify")
        targets = _targets(bundle)
        if not targets:
            raise ConfigError(f"{bundle.path}: names no target, so its evidence could not be placed in a fleet")
        sources.append(Source(bundle.path, bundle, found, targets))
    if not sources:
        raise ConfigError("nothing to merge: give at least one bundle")
    _check_rules(sources)
    return sorted(sources, key=lambda s: (s.targets[0], s.run_id))


def _check_rules(sources: list[Source]) -> None:
    runs: dict[str, Path] = {}
    owner: dict[str, Source] = {}
    for source in sources:
        if source.run_id in runs:
            raise ConfigError(f"{source.path}: run {source.run_id} is also {runs[source.run_id]}; a bundle is merged once")
        runs[source.run_id] = source.path
        for target in source.targets:
            if target in owner:
                raise ConfigError(f"target {target} is in {owner[target].path} and in {source.path}; a device is "
                                  "counted once, so merge bundles of different targets")
            owner[target] = source
    first = sources[0]
    for key, what in (("gates", "gate"), ("waivers", "waiver")):
        expected = _digests(first, key)
        for other in sources[1:]:
            if _digests(other, key) != expected:
                raise ConfigError(f"{other.path} was decided by other {what} files than {first.path} "
                                  f"({_names(other, key)} against {_names(first, key)}); merged devices must be "
                                  f"judged by the same {what}s")


def _digests(source: Source, key: str) -> set[str]:
    return {entry["sha256"] for entry in source.bundle.manifest.get(key) or []}


def _names(source: Source, key: str) -> str:
    entries = source.bundle.manifest.get(key) or []
    return ", ".join(f"{e.get('id') or Path(e['file']).name} {e['sha256'][:12]}" for e in entries) or "none"


def _place(source: Source, out: Path) -> None:
    """The source bundle, whole, under out/sources/<run-id> (a fleet run's sources are already there)."""
    destination = out / source.folder()
    if destination.resolve() == source.path.resolve():
        return
    if destination.exists():
        raise ConfigError(f"{destination} already exists; merge into a new folder")
    shutil.copytree(source.path, destination, symlinks=True, ignore=shutil.ignore_patterns(*SKIP_ON_COPY))
    source.path = destination


def _copy_records(bundle: Bundle, source: Source) -> None:
    recorder_journal = bundle.journal
    for record in source.bundle.records():
        fields = {k: getattr(record, k) for k in _COPIED}
        artifacts = [dict(a, path=f"{source.folder()}/{a['path']}") for a in record.artifacts]
        for target in [record.target] if record.target else source.targets:
            recorder_journal.append(record.kind, record.criterion, record.name, **fields, target=target,
                                    artifacts=artifacts, origin={"run": source.run_id, "seq": record.seq})


def _device(source: Source, target: str) -> dict:
    manifest = source.bundle.manifest
    return {"run": source.run_id, "source": source.folder(),
            "preflight": (manifest.get("preflight") or {}).get(target),
            "stack": manifest.get("stack") or {}, "lease": (manifest.get("leases") or {}).get(target),
            "incomplete": (manifest.get("incomplete") or {}).get(target)}


def _manifest_facts(sources: list[Source], fleet_info: dict | None) -> dict:
    """Manifest entries of the merged bundle, from its sources."""
    targets, leases, incomplete, phases, deselected, stacks = {}, {}, {}, [], [], {}
    for source in sources:
        manifest = source.bundle.manifest
        targets.update(manifest.get("targets") or {})
        leases.update(manifest.get("leases") or {})
        incomplete.update(manifest.get("incomplete") or {})
        if not manifest.get("ended"):
            incomplete.update({t: f"run {source.run_id} did not finish" for t in source.targets if t not in incomplete})
        label = ", ".join(source.targets)
        phases += [dict(p, name=f"{label}: {p.get('name')}") for p in manifest.get("phases") or [] if isinstance(p, dict)]
        deselected += [dict(e, targets=source.targets) for e in (source.bundle.selection().get("deselected") or [])]
        for target in source.targets:
            stacks[target] = manifest.get("stack") or {}
    distinct = {repr(sorted(s.items())) for s in stacks.values()}
    stack = next(iter(stacks.values())) if len(distinct) == 1 else {
        "version": "differs per device", "per_device": {t: s.get("version") for t, s in sorted(stacks.items())}}
    fleet = dict(fleet_info or {})
    fleet["targets"] = sorted(set(targets) | {t for s in sources for t in s.targets})
    fleet["devices"] = {t: _device(s, t) for s in sources for t in s.targets}
    merged_from = [{"run_id": s.run_id, "folder": s.folder(), "targets": s.targets,
                    "integrity": s.integrity.status, "manifest_sha256": sha256_file(s.path / MANIFEST),
                    "seal": (s.bundle.manifest.get("seal") or {}).get("evidence") or {},
                    "started": s.bundle.manifest.get("started"), "ended": s.bundle.manifest.get("ended")}
                   for s in sources]
    return {"targets": targets, "leases": leases, "incomplete": incomplete, "phases": phases, "stack": stack,
            "fleet": fleet, "merged_from": merged_from, "deselected": deselected}


def _source_files(out: Path) -> list[str]:
    root = out / SOURCES
    return sorted(p.relative_to(out).as_posix() for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def merge(paths, out: str | Path, command_line: str | None = None, fleet_info: dict | None = None,
          fleet_records: Callable[[Recorder, list[Record], object], None] | None = None) -> Path:
    """Merge the bundles at `paths` into the new bundle folder `out`; returns its path (rendered).
    `fleet_records(recorder, records, gates)` may record facts about the fleet as a whole (no target:
    they concern every device), e.g. whether every device reports the same version."""
    from ivv.report.render import render_bundle

    out = Path(out)
    sources = load_sources(paths)
    out.mkdir(parents=True, exist_ok=True)
    for source in sources:
        _place(source, out)
    first = sources[0]
    waiver_files = [first.path / w["copy"] for w in first.bundle.manifest.get("waivers") or []]
    bundle = Bundle.create(out.parent, out.name, gates=first.bundle.gates, waiver_files=waiver_files,
                           command=["ivv", "merge", *(s.run_id for s in sources)], command_line=command_line)
    bundle.manifest["gates"] = [dict(mine, file=theirs["file"]) for mine, theirs in
                                zip(bundle.manifest["gates"], first.bundle.manifest.get("gates") or [], strict=True)]
    for source in sources:
        _copy_records(bundle, source)
    if fleet_records is not None:
        fleet_records(bundle.recorder(test="ivv merge", suite="fleet"), bundle.records(), bundle.gates)
    facts = _manifest_facts(sources, fleet_info)
    bundle.deselected(facts.pop("deselected"))
    for key, value in facts.items():
        bundle.manifest[key] = value
    bundle.manifest["pages"] = {}
    bundle.manifest["started"] = min(s.bundle.manifest.get("started") or now() for s in sources)
    bundle.manifest.setdefault("seal", {}).setdefault("files", {}).update(
        integrity.sealed_files(out, _source_files(out)))
    bundle.finish()
    bundle.manifest["merged"] = bundle.manifest["ended"]
    bundle.write_manifest()
    render_bundle(out)
    return out
