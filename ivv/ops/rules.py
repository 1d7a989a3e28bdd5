"""What a stack's files, users and ports must be, as plain rules applied to what the profile names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceUser:
    name: str
    groups: tuple[str, ...]
    devices: tuple[str, ...]


@dataclass(frozen=True)
class PathRule:
    """A rule every stack's file of this role must follow (the profile names the path)."""

    path: str
    role: str
    owners: tuple[str, ...]          # acceptable owners (empty: any)
    forbidden_bits: int              # mode bits that must be clear
    text: str

    def judge(self, observed: Mapping | None) -> bool:
        if not observed:
            return False
        mode = int(observed["mode"], 8)
        return (not self.owners or observed["owner"] in self.owners) and not (mode & self.forbidden_bits)


@dataclass(frozen=True)
class Port:
    name: str
    port: int
    addresses: tuple[str, ...]
