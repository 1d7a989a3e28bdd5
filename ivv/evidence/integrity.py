"""Is a bundle as it was written? The seal in manifest.json, and its verification.

A format-2 bundle's manifest carries a `seal`: the evidence chain's head and record count (checkpointed
after every test, final at the end of the run), the sha256 of every gate and waiver copy (at creation),
of every artifact and report page (at the end), and optionally an HMAC of the whole manifest with the key
in `IVV_BUNDLE_KEY`. `verify(bundle_dir, manifest)` checks all of it and returns an `Integrity`:
`verified`, `altered` (with one sentence per change found) or `unchained` (a bundle written before
format 2, which has nothing to check). This detects edits; without the key it is not a signature:
whoever can rewrite every file can also rewrite the seal (docs/notes/evidence.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ivv.evidence import chain

FORMAT = 2
KEY_ENV = "IVV_BUNDLE_KEY"
VERIFIED, ALTERED, UNCHAINED = "verified", "altered", "unchained"
EVIDENCE = "evidence.jsonl"


@dataclass(frozen=True)
class Problem:
    """One thing found changed; `seq`/`criterion` when it concerns one record."""

    text: str
    seq: int | None = None
    criterion: str | None = None


@dataclass
class Integrity:
    status: str
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def adding(self, problems: list[Problem]) -> Integrity:
        """This result with more problems (re-derived verdicts): a chained bundle becomes altered."""
        if not problems:
            return self
        status = UNCHAINED if self.status == UNCHAINED else ALTERED
        return Integrity(status, [*self.problems, *problems], list(self.notes))

    def to_dict(self) -> dict:
        return {"status": self.status, "problems": [p.text for p in self.problems], "notes": list(self.notes)}


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- sealing (while the run writes the bundle) -----------------------------------------------------------
def sealed_files(bundle_dir: Path, names) -> dict[str, str]:
    """sha256 of the named files that exist, by path relative to the bundle."""
    return {name: sha256_file(bundle_dir / name) for name in sorted(names) if (bundle_dir / name).is_file()}


def artifact_files(bundle_dir: Path) -> list[str]:
    root = bundle_dir / "artifacts"
    return sorted(p.relative_to(bundle_dir).as_posix() for p in root.rglob("*") if p.is_file()) if root.is_dir() else []


def _key() -> bytes | None:
    value = os.environ.get(KEY_ENV)
    return value.encode("utf-8") if value else None


def _canonical(manifest: dict) -> bytes:
    unsigned = json.loads(json.dumps(manifest))
    (unsigned.get("seal") or {}).pop("signature", None)
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(manifest: dict) -> None:
    """Add (or refresh) the manifest's HMAC-SHA256 when IVV_BUNDLE_KEY is set; otherwise leave it unsigned."""
    key = _key()
    seal = manifest.setdefault("seal", {})
    seal.pop("signature", None)
    if key:
        seal["signature"] = {"alg": "hmac-sha256", "env": KEY_ENV,
                             "value": hmac.new(key, _canonical(manifest), hashlib.sha256).hexdigest()}


# -- verifying (ivv report, and the run's own first render) ----------------------------------------------
def verify(bundle_dir: str | Path, manifest: dict) -> Integrity:
    bundle_dir = Path(bundle_dir)
    evidence = bundle_dir / EVIDENCE
    walked = chain.walk(evidence.read_bytes()) if evidence.exists() else chain.Walk()
    if manifest.get("format") is None:
        if walked.chained:
            return Integrity(ALTERED, [Problem("manifest.json lost its format version, but its evidence is "
                                               "hash-chained (format 2): the manifest was edited")])
        return Integrity(UNCHAINED, notes=["written before bundle format 2: no hash chain or seal to verify"])
    seal = manifest.get("seal") or {}
    problems = [Problem(text) for text in walked.breaks]
    notes = []
    problems += _unlinked(walked)
    problems += _head(walked, seal.get("evidence") or {}, finished=bool(manifest.get("ended")), notes=notes)
    problems += _files(bundle_dir, seal.get("files") or {}, finished=bool(manifest.get("ended")))
    problems += _record_artifacts(bundle_dir, walked.lines)
    _signature(manifest, problems, notes)
    if walked.torn:
        notes.append("evidence.jsonl ended in a torn line (the run was killed while writing it); it was dropped")
    return Integrity(ALTERED if problems else VERIFIED, problems, notes)


def _unlinked(walked: chain.Walk) -> list[Problem]:
    return [Problem(f"{chain.describe(r)} carries no hash link (`prev`): it was not written by the journal",
                    r.get("seq"), r.get("criterion")) for r in walked.lines if "prev" not in r]


def _head(walked: chain.Walk, sealed: dict, finished: bool, notes: list[str]) -> list[Problem]:
    """The chain against the manifest's head: exact for a finished run, up to the last checkpoint for a
    killed one (records after it are linked, but nothing outside the journal confirms the last of them)."""
    count, head = sealed.get("records"), sealed.get("head")
    if not isinstance(count, int) or count == 0:
        if finished and walked.lines:
            return [Problem("manifest.json has no evidence chain head, but the run finished with records")]
        return []
    at = walked.position(count)
    if at is None:
        last = max((s for s in walked.seqs if s is not None), default=0)
        if last < count:
            return [Problem(f"evidence.jsonl ends at record {last}, but the manifest's chain head is record "
                            f"{count}: the last records were deleted")]
        return [Problem(f"evidence.jsonl: record {count}, the manifest's chain head, is missing")]
    if walked.hashes[at] != head:
        last = walked.record(count)
        return [Problem(f"evidence.jsonl: {chain.describe(last)} does not match the manifest's chain head: "
                        "it was changed after it was written", count, last.get("criterion"))]
    after = len(walked.hashes) - at - 1
    if after and finished:
        return [Problem(f"evidence.jsonl has {after} records after the manifest's chain head (record {count}): "
                        "they were added after the run finished")]
    if after:
        notes.append(f"{after} records were written after the manifest's last checkpoint (record {count}) "
                     "and before the run stopped; the chain links them")
    return []


def _files(bundle_dir: Path, sealed: dict[str, str], finished: bool) -> list[Problem]:
    problems = []
    for name, digest in sorted(sealed.items()):
        path = bundle_dir / name
        if not path.is_file():
            problems.append(Problem(f"{name} is missing (the manifest seals it)"))
        elif sha256_file(path) != digest:
            problems.append(Problem(f"{name} was changed after the run wrote it (its sha256 differs from the "
                                    "manifest's)"))
    if finished:
        for name in artifact_files(bundle_dir):
            if name not in sealed:
                problems.append(Problem(f"{name} was added to the bundle after the run (not in the manifest's seal)"))
    return problems


def _record_artifacts(bundle_dir: Path, lines: list[dict]) -> list[Problem]:
    """Every artifact a record names must be there with the sha256 the record gives."""
    problems, seen = [], set()
    for record in lines:
        for art in record.get("artifacts") or ():
            path, digest = art.get("path"), art.get("sha256")
            if not path or (path, digest) in seen:
                continue
            seen.add((path, digest))
            target = bundle_dir / path
            if not target.is_file():
                problems.append(Problem(f"{path} is missing ({chain.describe(record)} names it)",
                                        record.get("seq"), record.get("criterion")))
            elif sha256_file(target) != digest:
                problems.append(Problem(f"{path} was changed after it was written (its sha256 differs from "
                                        f"{chain.describe(record)})", record.get("seq"), record.get("criterion")))
    return problems


def _signature(manifest: dict, problems: list[Problem], notes: list[str]) -> None:
    signature = (manifest.get("seal") or {}).get("signature")
    key = _key()
    if signature is None:
        if key:
            notes.append(f"the manifest is not signed ({KEY_ENV} was not set when the run wrote it)")
        return
    if key is None:
        notes.append(f"the manifest is signed; set {KEY_ENV} to the run's key to verify the signature")
        return
    expected = hmac.new(key, _canonical(manifest), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, str(signature.get("value"))):
        problems.append(Problem(f"manifest.json does not match its signature ({KEY_ENV}): it was changed after "
                                "it was signed, or the key is not the run's"))
    else:
        notes.append("the manifest's signature verifies")
