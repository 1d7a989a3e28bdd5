"""The run bundle `reports/<run-id>/`: evidence.jsonl, manifest.json, artifacts, copies of the gate and
waiver files, verdicts and reports. Everything needed to render the report again lives inside it, and
the manifest's `seal` (ivv.evidence.integrity) says what it was when the run wrote it.

`current()` is the bundle of the running session (or None), for fixtures that record manifest facts
(`current().set_manifest("targets", {...})`) or session-level evidence (`current().recorder()`).
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import shutil
import subprocess
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import ivv
from ivv.config.gates import GateSet, load_gate
from ivv.config.waivers import load_waivers
from ivv.errors import ConfigError
from ivv.evidence import integrity
from ivv.evidence.integrity import FORMAT, Integrity, sha256_file
from ivv.evidence.journal import Journal, Recorder, now, read_records
from ivv.evidence.redact import redact, redact_obj

EVIDENCE, MANIFEST, VERDICTS = "evidence.jsonl", "manifest.json", "verdicts.json"
JUNIT, HTML_PAGE = "junit.xml", "pytest-report.html"

_current: Bundle | None = None


def current() -> Bundle | None:
    """The bundle of the running session, if one is active."""
    return _current


def set_current(bundle: Bundle | None) -> None:
    global _current
    _current = bundle


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def git_sha(path: Path | None = None) -> str:
    """The harness's git commit (with `+dirty` when the tree has changes), or `unknown`."""
    where = path or Path(ivv.__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return sha + ("+dirty" if dirty else "")


def harness_version() -> str:
    try:
        from importlib.metadata import version
        return version("ivv")
    except Exception:  # noqa: BLE001 - not installed: fall back to the source attribute
        return getattr(ivv, "__version__", "unknown")


def _write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(redact(json.dumps(redact_obj(data), indent=2, sort_keys=True, ensure_ascii=False)) + "\n",
                   encoding="utf-8")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _redacted_manifest(manifest: dict) -> dict:
    """The manifest as written: every fact redacted, the seal (paths and sha256 digests) kept exact, so
    redacting a short secret can never break a digest; then signed when a key is set."""
    body = {k: v for k, v in manifest.items() if k != "seal"}
    try:
        written = json.loads(redact(json.dumps(redact_obj(body), ensure_ascii=False)))
    except ValueError:  # a secret that looks like a number: masking it in the text broke the JSON
        written = redact_obj(body)
    written["seal"] = json.loads(json.dumps(manifest.get("seal") or {}))
    integrity.sign(written)
    return written


@dataclass
class Bundle:
    path: Path
    manifest: dict
    journal: Journal | None = None
    gates: GateSet | None = None

    # -- creating a bundle ---------------------------------------------------------------------------
    @classmethod
    def create(cls, reports_dir: str | Path, run_id: str | None = None, gates: GateSet | None = None,
               waiver_files=(), command: list[str] | None = None, command_line: str | None = None) -> Bundle:
        """A new bundle with its gate and waiver copies sealed. `command` is the pytest argument list,
        `command_line` what the user typed (`ivv gate ...`), recorded as the run's selection."""
        run_id = run_id or new_run_id()
        path = Path(reports_dir) / run_id
        if (path / EVIDENCE).exists():
            raise ConfigError(f"{path}: a bundle with run id {run_id!r} already exists; choose another --ivv-run-id")
        path.mkdir(parents=True, exist_ok=True)
        gate_entries = []
        for gate in (gates.gates if gates else ()):
            copy = Path("gates") / f"{gate.id}.yaml"
            (path / "gates").mkdir(exist_ok=True)
            shutil.copyfile(gate.path, path / copy)
            gate_entries.append({"id": gate.id, "title": gate.title, "version": gate.version,
                                 "file": str(gate.path), "copy": copy.as_posix(), "sha256": gate.sha256})
        waiver_entries = []
        for index, wfile in enumerate(waiver_files):
            copy = Path("waivers") / f"{index:02d}-{Path(wfile).name}"
            (path / "waivers").mkdir(exist_ok=True)
            shutil.copyfile(wfile, path / copy)
            waiver_entries.append({"file": str(wfile), "copy": copy.as_posix(), "sha256": sha256_file(wfile)})
        copies = [e["copy"] for e in gate_entries + waiver_entries]
        manifest = {
            "format": FORMAT, "run_id": run_id,
            "harness": {"version": harness_version(), "git_sha": git_sha(), "python": platform.python_version()},
            "started": now(), "ended": None, "command": command or [],
            "selection": {"command": command_line or "", "deselected": []},
            "gates": gate_entries, "waivers": waiver_entries, "targets": {}, "stack": {},
            "seal": {"evidence": {"records": 0, "head": None}, "files": integrity.sealed_files(path, copies)},
        }
        bundle = cls(path=path, manifest=manifest, journal=Journal(path / EVIDENCE), gates=gates or GateSet())
        bundle.write_manifest()
        update_latest(Path(reports_dir), path)
        return bundle

    # -- the session-level API other fixtures use -----------------------------------------------------
    _lock = threading.Lock()

    def set_manifest(self, key: str, value: Any) -> None:
        """Record a manifest fact (e.g. `targets`, `stack`), redacted, written at once."""
        with self._lock:
            self.manifest[key] = value
            self.write_manifest()

    def update_manifest(self, key: str, value: dict) -> None:
        """Merge a dict into a manifest entry (e.g. one target's facts into `targets`)."""
        with self._lock:
            merged = dict(self.manifest.get(key) or {})
            merged.update(value)
            self.manifest[key] = merged
            self.write_manifest()

    def write_manifest(self) -> None:
        _write_json_atomic(self.path / MANIFEST, _redacted_manifest(self.manifest))

    def recorder(self, test: str | None = None, suite: str | None = None, target_name: Any = None) -> Recorder:
        """An evidence recorder outside a test (session fixtures: boot time, deployment facts). Without a
        target name its records concern every target of the criterion (a gate-level gap, a stop)."""
        if self.journal is None:
            self.journal = Journal(self.path / EVIDENCE)
        return Recorder(journal=self.journal, bundle_dir=self.path, gates=self.gates, test=test, suite=suite,
                        target_name=target_name)

    def checkpoint(self) -> None:
        """Write the evidence chain's head into the manifest (after each test), so a killed run's bundle
        still shows which records it had written by then."""
        with self._lock:
            if self.journal is not None:
                count, head = self.journal.position()
                self.manifest.setdefault("seal", {})["evidence"] = {"records": count, "head": head}
            self.write_manifest()

    def deselected(self, entries: list[dict]) -> None:
        """Tests of criteria that this run did not run by selection (`{"test", "criteria", "why"}`)."""
        with self._lock:
            selection = self.manifest.setdefault("selection", {"command": "", "deselected": []})
            known = {e["test"] for e in selection["deselected"]}
            selection["deselected"] += [e for e in entries if e["test"] not in known]
            self.write_manifest()

    def finish(self) -> None:
        """The run ended: seal the final chain head and every artifact."""
        self.manifest["ended"] = now()
        files = self.manifest.setdefault("seal", {}).setdefault("files", {})
        files.update(integrity.sealed_files(self.path, integrity.artifact_files(self.path)))
        self.checkpoint()
        if self.journal is not None:
            self.journal.close()

    def seal_pages(self, names) -> None:
        """Seal the pytest pages (junit.xml, the pytest-html page) once pytest has written them."""
        with self._lock:
            self.manifest.setdefault("seal", {}).setdefault("files", {}).update(
                integrity.sealed_files(self.path, names))
            self.write_manifest()

    # -- reading a bundle back -----------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> Bundle:
        path = Path(path)
        if path.is_symlink() or not (path / MANIFEST).exists():
            path = path.resolve()
        if not (path / MANIFEST).exists():
            raise ConfigError(f"{path}: not a run bundle (no {MANIFEST})")
        try:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ConfigError(f"{path / MANIFEST}: not JSON ({exc})") from None
        gates = GateSet(_copies(path, manifest, "gates", lambda f: [load_gate(f)]))
        return cls(path=path, manifest=manifest, journal=None, gates=gates)

    def records(self):
        """The records as written (a line that is not a record is skipped: verify() names it)."""
        evidence = self.path / EVIDENCE
        return read_records(evidence, strict=False) if evidence.exists() else []

    def verify(self) -> Integrity:
        """Chain, seal, copies and signature against what is in the bundle now."""
        return integrity.verify(self.path, self.manifest)

    def selection(self) -> dict:
        return self.manifest.get("selection") or {"command": " ".join(self.manifest.get("command") or []),
                                                  "deselected": []}

    def fleet_targets(self) -> list[str] | None:
        """The targets a fleet run decides every criterion on (manifest `fleet.targets`), or None."""
        targets = (self.manifest.get("fleet") or {}).get("targets")
        return sorted(targets) if isinstance(targets, list) and targets else None

    def waivers(self):
        return _copies(self.path, self.manifest, "waivers", load_waivers)

    def run_date(self) -> date:
        """The day the run started: waivers are judged as of that day, so re-rendering is stable."""
        started = self.manifest.get("started") or now()
        return date.fromisoformat(started[:10])


def _copies(bundle_dir: Path, manifest: dict, key: str, load) -> list:
    """The gate or waiver copies as the bundle holds them (verify() says whether each is the file the run
    used). A copy that no longer loads is left out when the seal shows it was changed: the integrity
    problem names it, and the rest of the bundle still renders."""
    sealed = (manifest.get("seal") or {}).get("files") or {}
    out = []
    for entry in manifest.get(key, []):
        path = bundle_dir / entry["copy"]
        try:
            out.extend(load(path))
        except ConfigError:
            if entry["copy"] in sealed and (not path.is_file() or sha256_file(path) != sealed[entry["copy"]]):
                continue
            raise
    return out


def update_latest(reports_dir: Path, bundle_dir: Path) -> None:
    """Point reports/latest at the bundle (relative symlink, replaced atomically)."""
    link = reports_dir / "latest"
    tmp = reports_dir / f".latest-{os.getpid()}"
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(bundle_dir.name, tmp)
        os.replace(tmp, link)
    except OSError:
        pass  # a file system without symlinks: the bundle itself is still complete
