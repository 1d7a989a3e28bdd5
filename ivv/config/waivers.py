"""Waivers: accepted shortfalls with reason, owner and expiry date. An expired waiver covers nothing.
A waiver may name a `target` (it covers the criterion on that target only) or not (every target)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ivv.config import loader as config
from ivv.errors import WaiverError


@dataclass(frozen=True)
class Waiver:
    criterion: str
    reason: str
    owner: str
    expires: date
    ticket: str | None = None
    target: str | None = None

    def covers(self, criterion_id: str, target: str | None = None) -> bool:
        return self.criterion == criterion_id and (self.target is None or self.target == target)

    def active_on(self, day: date) -> bool:
        """A waiver is valid up to and including its expiry date."""
        return day <= self.expires

    def to_dict(self) -> dict[str, Any]:
        return {"criterion": self.criterion, "reason": self.reason, "owner": self.owner,
                "expires": self.expires.isoformat(), "ticket": self.ticket, "target": self.target}


def load_waivers(path: str | Path, known_criteria=None) -> list[Waiver]:
    """Validate a waiver file; with `known_criteria`, a waiver for an unknown criterion is an error."""
    path = Path(path)
    data, lines = config.load(path, "waivers", WaiverError)
    waivers = []
    for index, raw in enumerate(data["waivers"]):
        try:
            expires = date.fromisoformat(raw["expires"])
        except ValueError:
            where = config.location(path, lines, ("waivers", index, "expires"))
            raise WaiverError(f"{where}: waivers[{index}].expires: {raw['expires']!r} is not a calendar date; "
                              "expected YYYY-MM-DD") from None
        if known_criteria is not None and raw["criterion"] not in known_criteria:
            where = config.location(path, lines, ("waivers", index, "criterion"))
            raise WaiverError(f"{where}: waivers[{index}].criterion: {raw['criterion']!r} is in no loaded gate; "
                              f"expected one of {', '.join(sorted(known_criteria))}")
        waivers.append(Waiver(criterion=raw["criterion"], reason=raw["reason"], owner=raw["owner"],
                              expires=expires, ticket=raw.get("ticket"), target=raw.get("target")))
    return waivers


def find(waivers, criterion_id: str, day: date, target: str | None = None) -> tuple[Waiver | None, list[Waiver]]:
    """(the active waiver covering the criterion on `target` on `day` or None, the expired ones that would
    have)."""
    active, expired = None, []
    for waiver in waivers:
        if not waiver.covers(criterion_id, target):
            continue
        if waiver.active_on(day):
            active = active or waiver
        else:
            expired.append(waiver)
    return active, expired
