"""What a rollback must give back, and what of the newer release it may leave behind.

`Baseline` is version N installed with data written through the API; `AfterRollback` is what is seen
after N -> N+1 -> N; `residue_of` judges the install tree against N's own; `BrokenUpgrade` is the upgrade
to a release that cannot start, which must be detected and end on N.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ivv.ops.operation import Operation


@dataclass
class AfterRollback:
    version: str | None
    upgraded_version: str | None
    data: dict
    config: dict
    config_diff: dict
    residue: dict

    def summary(self) -> dict:
        return {"version": self.version, "upgraded_version": self.upgraded_version, "data_files": len(self.data),
                "config_diff": self.config_diff, "residue": self.residue}


@dataclass
class Baseline:
    """Version N installed, with data written through the API: what every rollback must give back."""

    version: str
    next_version: str
    environment: str
    data: dict
    config: dict
    install: dict
    written: list


@dataclass
class BrokenUpgrade:
    upgrade: Operation
    detected: bool
    detection: str
    recovery: Operation | None
    recovery_s: float | None
    version: str | None
    data: dict

    def as_dict(self) -> dict:
        return {"upgrade": self.upgrade.as_dict(), "detected": self.detected, "detection": self.detection,
                "recovery": self.recovery.as_dict() if self.recovery else None, "recovery_s": self.recovery_s,
                "version": self.version, "data_files": len(self.data)}


def residue_of(diff: dict, paths: Mapping, next_version: str) -> dict:
    """What of N+1 is left after rolling back to N, judged against N's own install tree.

    Any file of N changed or removed is residue; an added file is residue when its path names N+1
    (a kept copy of N+1 outside the profile's release store is still N+1). Config is compared on its own.
    A release store (`paths.releases`) may keep N+1 inactive: listed separately, as `kept_inactive`.
    """
    config = paths.get("config")
    store = paths.get("releases")

    def in_config(path: str) -> bool:
        return bool(config) and (path == config or path.startswith(config.rstrip("/") + "/"))

    def in_store(path: str) -> bool:
        return bool(store) and path.startswith(store.rstrip("/") + "/")

    def names_next(path: str) -> bool:
        return any(part == next_version or part.startswith(next_version + "-") or
                   part.endswith("-" + next_version) for part in path.split("/"))

    added = [p for p in diff["added"] if not in_config(p) and names_next(p)]
    return {"added": [p for p in added if not in_store(p)],
            "removed": [p for p in diff["removed"] if not in_config(p)],
            "changed": {p: v for p, v in diff["changed"].items() if not in_config(p)},
            "kept_inactive": len([p for p in added if in_store(p)])}


def residue_found(residue: Mapping) -> bool:
    return bool(residue["added"] or residue["removed"] or residue["changed"])
