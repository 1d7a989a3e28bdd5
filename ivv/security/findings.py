"""What a probe found, as plain data the suite can record as evidence."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Finding:
    """One decided fact: `passed` is the verdict; `exchange` is the transcript text that shows it."""

    criterion: str
    name: str
    passed: bool
    expected: str
    observed: str
    exchange: str = ""
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Undecided:
    """A probe that had nothing to compare with (the profile states no limit): a gap, never a PASS."""

    criterion: str
    name: str
    reason: str
