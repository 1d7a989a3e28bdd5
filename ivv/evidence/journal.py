"""Evidence: frozen records appended to `evidence.jsonl`, fsync'ed one by one, so a killed run keeps them.

`Journal` is the append-only file, hash-chained (`prev`, see `ivv.evidence.chain`); `Recorder` is what
the `evidence` fixture hands a test (`measure`, `check`, `artifact`, `gap`). A measurement's threshold
comes only from the gate (the criterion's, or a named gate setting), never from code. Reports are
rendered from the journal alone, never from live objects.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import re
import threading
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ivv.config.gates import GateSet
from ivv.errors import ConfigError
from ivv.evidence import chain
from ivv.evidence.redact import redact, redact_bytes, redact_obj
from ivv.evidence.thresholds import Threshold
from ivv.evidence.verdict import Verdict

PASS, FAIL, NOT_VERIFIED, WAIVED = Verdict.PASS, Verdict.FAIL, Verdict.NOT_VERIFIED, Verdict.WAIVED
KINDS = ("measurement", "check", "gap", "test")


def now() -> str:
    """UTC timestamp with milliseconds, the one time format of the bundle."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _plain(value: Any) -> Any:
    """JSON-safe copy of a value (tuples to lists, sets sorted, NaN/inf to None, objects to str)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, numbers.Integral):  # numpy and other integer types
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, Path):
        return str(value)
    return str(value)


@dataclass(frozen=True)
class Artifact:
    """A file saved in the bundle: path relative to the bundle, sha256 and size."""
    path: str
    sha256: str
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Record:
    """One recorded fact. `seq` is its line number in evidence.jsonl as written (a deleted line leaves a
    hole); `prev` the sha256 of the line before it. `threshold.setting` names the gate setting a
    measurement was judged by (absent: the criterion's own threshold). `origin` (merged bundles only, and
    left out of the line otherwise) names the source run and seq the record was copied from."""
    seq: int
    kind: str
    criterion: str | None
    name: str
    verdict: str | None = None
    value: Any = None
    unit: str | None = None
    threshold: dict | None = None
    expected: Any = None
    observed: Any = None
    reason: str | None = None
    start: str | None = None
    end: str | None = None
    target: str | None = None
    test: str | None = None
    suite: str | None = None
    artifacts: tuple[dict, ...] = ()
    details: dict | None = None
    series: dict | None = None
    origin: dict | None = None       # a merged bundle's record: {"run", "seq"} of the record it copies
    prev: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["artifacts"] = list(self.artifacts)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        known = {f for f in cls.__dataclass_fields__}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["artifacts"] = tuple(kwargs.get("artifacts") or ())
        if kwargs.get("verdict") in Verdict._value2member_map_:
            kwargs["verdict"] = Verdict(kwargs["verdict"])  # an unknown word stays as written: re-derivation flags it
        return cls(**kwargs)


class Journal:
    """Append-only evidence.jsonl. Each append is redacted, linked to the line before it (`prev`),
    written, flushed and fsync'ed before returning; `head` is the hash of the last line."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.head, self._seq = chain.GENESIS, 0
        if self.path.exists():
            _drop_torn_tail(self.path)
            walked = chain.walk(self.path.read_bytes())
            self.head, self._seq = walked.head, len(walked.hashes)
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the run
        self.records: list[Record] = []

    @property
    def count(self) -> int:
        """Records written so far (the seq of the last one)."""
        return self._seq

    def position(self) -> tuple[int, str]:
        """(records written, hash of the last line), read together: the manifest's checkpoint."""
        with self._lock:
            return self._seq, self.head

    def append(self, kind: str, criterion: str | None, name: str, **fields: Any) -> Record:
        if kind not in KINDS:
            raise ValueError(f"record kind {kind!r} is not one of {KINDS}")
        with self._lock:
            self._seq += 1
            data = {"seq": self._seq, "kind": kind, "criterion": criterion, "name": name, **fields}
            data.setdefault("end", now())
            data.setdefault("start", data["end"])
            record = Record.from_dict(redact_obj(_plain(data)))
            body = {k: v for k, v in record.to_dict().items() if k != "prev" and not (k == "origin" and v is None)}
            line = chain.link(redact(json.dumps(body, ensure_ascii=False, sort_keys=False)), self.head)
            self._fh.write(line + "\n")
            self._fh.flush()
            os.fsync(self._fh.fileno())
            record = replace(record, prev=self.head)
            self.head = chain.line_hash(line)
            self.records.append(record)
            return record

    def close(self) -> None:
        with self._lock:
            if not self._fh.closed:
                self._fh.close()


def _drop_torn_tail(path: Path) -> None:
    """Cut an unterminated last line (a run killed mid-write) before appending to the journal again."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with open(path, "r+b") as fh:
            fh.truncate(data.rfind(b"\n") + 1)


def read_records(path: str | Path, strict: bool = True) -> list[Record]:
    """Records of an evidence.jsonl, with the seq each was written with (a deleted line leaves a hole);
    a torn last line (the run was killed mid-write) is ignored. A line that is not a record is an error,
    or skipped with `strict=False` (a bundle being verified: the chain names it)."""
    records = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        lines = fh.read().split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError
            if not isinstance(data.get("seq"), int):
                data["seq"] = number  # an older journal without seq: its line number
            records.append(Record.from_dict(data))
        except (ValueError, TypeError):
            if number == len(lines):  # only the last, unterminated line may be torn
                break
            if strict:
                raise ValueError(f"{path}:{number}: not a JSON evidence record") from None
    return records


def slug(text: str) -> str:
    """A file-system-safe name for a test node id or artifact name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:120] or "item"


def save_artifact(bundle_dir: Path, subdir: str, name: str, data: bytes | str | Path) -> Artifact:
    """Store bytes/text/a file under artifacts/<subdir>/<name>; text and text files are redacted. An
    artifact already saved under that name with other bytes is never overwritten (the record that names
    it keeps its sha256): the new one gets `name-2`, `name-3`..."""
    if isinstance(data, Path):
        payload = redact_bytes(data.read_bytes())
    elif isinstance(data, str):
        payload = redact(data).encode("utf-8")
    else:
        payload = redact_bytes(bytes(data))
    folder = Path(bundle_dir) / "artifacts" / slug(redact(subdir))
    folder.mkdir(parents=True, exist_ok=True)
    base = slug(redact(name))
    stem, dot, suffix = base.partition(".") if not base.startswith(".") else (base, "", "")
    target, copy = folder / base, 1
    while target.exists() and target.read_bytes() != payload:
        copy += 1
        target = folder / f"{stem}-{copy}{dot}{suffix}"
    if not target.exists():
        target.write_bytes(payload)
    return Artifact(path=target.relative_to(bundle_dir).as_posix(), sha256=hashlib.sha256(payload).hexdigest(),
                    bytes=len(payload))


@dataclass
class Recorder:
    """The `evidence` fixture: records facts for one test (or one session-scoped fixture)."""
    journal: Journal
    bundle_dir: Path
    gates: Any = None                      # ivv.config.gates.GateSet or None
    test: str | None = None                # pytest node id
    suite: str | None = None
    target_name: Any = "local"             # a str, or a callable returning the current target's name
    records: list[Record] = field(default_factory=list)

    def _target(self) -> str | None:
        return self.target_name() if callable(self.target_name) else self.target_name

    def _suite(self, criterion: str | None) -> str | None:
        if self.suite:
            return self.suite
        known = self.gates.get(criterion) if self.gates is not None and criterion else None
        return known.suite if known else None

    def _append(self, kind: str, criterion: str | None, name: str, artifacts=(), **fields: Any) -> Record:
        arts = [a.to_dict() if isinstance(a, Artifact) else dict(a) for a in artifacts]
        record = self.journal.append(kind, criterion, name, target=self._target(), test=self.test,
                                     suite=self._suite(criterion), artifacts=arts, **fields)
        self.records.append(record)
        return record

    def threshold_for(self, criterion: str, setting: str | None = None) -> Threshold:
        """The gate's threshold for a measurement: the named gate setting, else the criterion's own.
        ConfigError when the loaded gates have none: nothing could decide the measurement."""
        return (self.gates if self.gates is not None else GateSet()).threshold(criterion, setting)

    def measure(self, criterion: str, name: str, value: float | None, unit: str | None = None, *,
                setting: str | None = None, repeat_of: str | None = None, artifacts=(),
                details: dict | None = None, series: dict | None = None, started: str | None = None,
                threshold=None) -> Record:
        """A measured number, decided by the gate's threshold: the criterion's, or the gate setting named
        by `setting` (recorded as `threshold.setting`, so re-deriving the verdict finds it again). None =
        could not measure. `repeat_of` names the set of repeated measurements this one belongs to
        (`details.repeat_of`; measurements of one criterion and target with the same name are repeats too)."""
        if threshold is not None:
            raise ConfigError(f"measurement {name!r} for {criterion!r}: a threshold written in code ({threshold}) "
                              "is not allowed; thresholds come from the gate file (the criterion's `threshold`, "
                              "or a gate setting named with setting='suite.key')")
        limit = self.threshold_for(criterion, setting)
        if repeat_of is not None:
            details = {**(details or {}), "repeat_of": repeat_of}
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return self.gap(criterion, f"{name}: no value could be measured", details=details, started=started)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"measurement {name!r} for {criterion!r}: value {value!r} is not a number "
                            "(use evidence.check for yes/no facts)")
        verdict = PASS if limit.check(value, unit or limit.unit) else FAIL
        recorded = {**limit.to_dict(), **({"setting": setting} if setting else {})}
        return self._append("measurement", criterion, name, artifacts, value=value, unit=unit or limit.unit,
                            threshold=recorded, verdict=verdict, details=details, series=series,
                            **({"start": started} if started else {}))

    def check(self, criterion: str, name: str, passed: bool, expected: Any = None, observed: Any = None,
              artifacts=(), details: dict | None = None, started: str | None = None) -> Record:
        """A boolean fact; PASS exactly when `passed` is True."""
        verdict = PASS if passed is True else FAIL
        return self._append("check", criterion, name, artifacts, verdict=verdict, value=bool(passed),
                            expected=expected, observed=observed, details=details,
                            **({"start": started} if started else {}))

    def gap(self, criterion: str, reason: str, details: dict | None = None, started: str | None = None) -> Record:
        """Say why a criterion could not be measured: it stays NOT VERIFIED."""
        return self._append("gap", criterion, "not measured", verdict=NOT_VERIFIED, reason=reason, details=details,
                            **({"start": started} if started else {}))

    def artifact(self, name: str, data: bytes | str | Path) -> Artifact:
        """Save a file in the bundle under artifacts/<test>/<name>, redacted, with its sha256."""
        return save_artifact(self.bundle_dir, self.test or "session", name, data)

    def recorded(self, criterion: str) -> list[Record]:
        return [r for r in self.records if r.criterion == criterion]
