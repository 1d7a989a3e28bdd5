"""Recordings and snapshots on disk: names, listings, deletion, space and the retention policy."""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
KINDS = ("recordings", "snapshots")


class StorageError(Exception):
    """A file request cannot be served; `reason` is one of not_found, bad_name, no_space."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class RetentionPolicy:
    policy_type: str = "manual"
    enabled: bool = False
    max_age_days: float | None = None
    max_size_gb: float | None = None


class FileStore:
    """Two flat directories; every name is checked so that no request reaches outside them."""

    def __init__(self, recordings: Path, snapshots: Path, low_space_mb: float = 100, traversal=False):
        self.dirs = {"recordings": Path(recordings), "snapshots": Path(snapshots)}
        self.low_space_bytes = int(low_space_mb * 1024 * 1024)
        self.traversal = traversal  # fault knob file_traversal: skip the name check
        self.policy = RetentionPolicy()

    def ensure_dirs(self) -> None:
        for path in self.dirs.values():
            path.mkdir(parents=True, exist_ok=True)

    def path(self, kind: str, name: str) -> Path:
        """The file for `name` in `kind`, refusing names that could leave the directory."""
        if self.traversal and isinstance(name, str) and name:
            return self.dirs[kind] / name
        if not isinstance(name, str) or not SAFE_NAME.match(name) or ".." in name:
            raise StorageError("bad_name", "invalid filename")
        return self.dirs[kind] / name

    def existing(self, kind: str, name: str) -> Path:
        path = self.path(kind, name)
        if not path.is_file():
            raise StorageError("not_found", f"{kind[:-1]} not found: {name}")
        return path

    def describe(self, kind: str, path: Path) -> dict:
        stat = path.stat()
        return {
            "filename": path.name,
            "file_size": stat.st_size,
            "modified_time": iso(stat.st_mtime),
            "created_time": iso(stat.st_ctime),
            "download_url": f"/files/{kind}/{path.name}",
        }

    def listing(self, kind: str, limit: int, offset: int) -> dict:
        files = sorted((p for p in self.dirs[kind].iterdir() if p.is_file()),
                       key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
        page = files[offset:offset + limit]
        return {"files": [self.describe(kind, p) for p in page], "total": len(files),
                "limit": limit, "offset": offset}

    def delete(self, kind: str, name: str) -> dict:
        self.existing(kind, name).unlink()
        return {"filename": name, "deleted": True, "message": f"{kind[:-1]} {name} deleted"}

    def size_of(self, kind: str) -> int:
        return sum(p.stat().st_size for p in self.dirs[kind].iterdir() if p.is_file())

    def space(self) -> dict:
        usage = shutil.disk_usage(self.dirs["recordings"])
        return {
            "total_space": usage.total,
            "used_space": usage.used,
            "available_space": usage.free,
            "usage_percentage": round(100.0 * usage.used / usage.total, 2) if usage.total else 0.0,
            "recordings_size": self.size_of("recordings"),
            "snapshots_size": self.size_of("snapshots"),
            "low_space_warning": usage.free < self.low_space_bytes,
        }

    def low_on_space(self) -> bool:
        return shutil.disk_usage(self.dirs["recordings"]).free < self.low_space_bytes

    def check_space(self, evict: bool = False) -> None:
        """StorageError(no_space) below the low-space mark. `evict` is the fault knob delete_when_full:
        the oldest finished recordings are deleted until there is room (data lost to look healthy)."""
        while evict and self.low_on_space():
            oldest = sorted((p for p in self.dirs["recordings"].iterdir() if p.is_file()),
                            key=lambda p: p.stat().st_mtime)
            if not oldest:
                break
            oldest[0].unlink()
        if self.low_on_space():
            raise StorageError("no_space", "insufficient storage")

    def health(self) -> dict:
        """healthy while free space stays above the low-space mark."""
        usage = shutil.disk_usage(self.dirs["recordings"])
        return {"status": "healthy" if usage.free >= self.low_space_bytes else "unhealthy",
                "details": {"free_bytes": usage.free, "low_space_bytes": self.low_space_bytes}}

    def set_policy(self, policy: RetentionPolicy) -> dict:
        self.policy = policy
        return asdict(policy)

    def cleanup(self) -> dict:
        policy = self.policy
        if not policy.enabled or policy.policy_type == "manual":
            return {"cleanup_executed": False, "files_deleted": 0, "space_freed": 0,
                    "message": "retention policy is manual or disabled; nothing deleted"}
        files = sorted((p for d in self.dirs.values() for p in d.iterdir() if p.is_file()),
                       key=lambda p: p.stat().st_mtime)
        doomed: list[Path] = []
        if policy.policy_type == "age":
            cutoff = time.time() - float(policy.max_age_days) * 86400
            doomed = [p for p in files if p.stat().st_mtime < cutoff]
        elif policy.policy_type == "size":
            budget = float(policy.max_size_gb) * 1024 ** 3
            total = sum(p.stat().st_size for p in files)
            for p in files:
                if total <= budget:
                    break
                doomed.append(p)
                total -= p.stat().st_size
        freed = 0
        for p in doomed:
            freed += p.stat().st_size
            os.unlink(p)
        return {"cleanup_executed": True, "files_deleted": len(doomed), "space_freed": freed,
                "message": f"{len(doomed)} file(s) deleted by {policy.policy_type} policy"}
