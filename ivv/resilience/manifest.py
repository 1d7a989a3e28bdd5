"""Which release an install tree is: its files against each release's file manifest.

A release's manifest is every regular file of its archive (path below the archive's top folder, sha256).
The install tree is the folder the profile's `paths.current` resolves to on the device (followed through
its symlink), read as a file inventory. The tree *is* release R when every file of R's manifest is there
with R's sha256; files the install generates (unpacked wheels, byte code) are not in any manifest and do
not count. Exactly one release must match: none is a broken or mixed tree, and for every file on which
the releases differ the match says which release's content it holds, so "2 files as 1.1.0, 2 as 1.0.0"
is shown rather than "mismatch".
"""

from __future__ import annotations

import hashlib
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


def archive_manifest(archive: str | Path) -> dict[str, str]:
    """relative path -> sha256 of every regular file of a release archive (top folder stripped when the
    archive has exactly one)."""
    files: dict[str, str] = {}
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        tops = {m.name.split("/", 1)[0] for m in tar.getmembers()}
        strip = len(tops) == 1 and all("/" in m.name for m in members)
        for member in members:
            handle = tar.extractfile(member)
            if handle is None:
                continue
            digest = hashlib.sha256(handle.read()).hexdigest()
            files[member.name.split("/", 1)[1] if strip else member.name] = digest
    return files


def tree_files(inventory: Mapping[str, Mapping], root: str) -> dict[str, str]:
    """relative path -> sha256 of the regular files of a file inventory (ivv.ops.files) under `root`."""
    prefix = root.rstrip("/") + "/"
    return {path[len(prefix):]: item["sha256"] for path, item in inventory.items()
            if path.startswith(prefix) and item.get("type") == "f" and "sha256" in item}


@dataclass(frozen=True)
class Match:
    """The release an install tree matches, or why it matches none."""

    version: str | None                      # the one release whose manifest the tree holds, else None
    matching: tuple[str, ...]                # every release that matched (more than one: identical manifests)
    missing: Mapping[str, list[str]] = field(default_factory=dict)   # release -> its files absent
    differing: Mapping[str, list[str]] = field(default_factory=dict)  # release -> its files with other content
    holds: Mapping[str, str] = field(default_factory=dict)  # distinguishing file -> release it equals | "neither"

    @property
    def mixed(self) -> bool:
        """No release matched and the distinguishing files hold more than one release's content."""
        return self.version is None and len({v for v in self.holds.values() if v != "neither"}) > 1

    @property
    def text(self) -> str:
        if self.version:
            return f"the install tree is release {self.version} (every file of its manifest, same sha256)"
        counts: dict[str, int] = {}
        for who in self.holds.values():
            counts[who] = counts.get(who, 0) + 1
        parts = ", ".join(f"{n} file{'s' if n != 1 else ''} as {who}" for who, n in sorted(counts.items()))
        kind = "a mix of releases" if self.mixed else "no release"
        return f"the install tree is {kind}: {parts or 'no distinguishing file found'}"

    def as_dict(self) -> dict:
        return {"version": self.version, "matching": list(self.matching), "mixed": self.mixed, "text": self.text,
                "holds": dict(self.holds), "missing": {k: v[:20] for k, v in self.missing.items()},
                "differing": {k: v[:20] for k, v in self.differing.items()}}


def match_release(tree: Mapping[str, str], manifests: Mapping[str, Mapping[str, str]]) -> Match:
    """Judge an install tree (relative path -> sha256) against every release's manifest."""
    missing, differing, matching = {}, {}, []
    for version, manifest in manifests.items():
        missing[version] = sorted(p for p in manifest if p not in tree)
        differing[version] = sorted(p for p, sha in manifest.items() if p in tree and tree[p] != sha)
        if not missing[version] and not differing[version]:
            matching.append(version)
    distinguishing = sorted({p for m in manifests.values() for p in m
                             if len({mm.get(p) for mm in manifests.values()}) > 1})
    holds = {}
    for path in distinguishing:
        owners = [v for v, m in manifests.items() if path in m and tree.get(path) == m[path]]
        holds[path] = owners[0] if len(owners) == 1 else ("neither" if not owners else "/".join(owners))
    version = matching[0] if len(matching) == 1 else None
    return Match(version, tuple(matching), missing, differing, holds)
