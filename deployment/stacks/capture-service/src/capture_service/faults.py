"""Fault knobs: each breaks the service in one honest way, so a gate can show it FAILs.

wrong_status (a capture answers 200, not 201), schema_drift (status counts as strings), auth_bypass
(status and capture records answer without a token), slow_capture (milliseconds added to every capture),
corrupt_transfer (a transferred file is altered on the way and reported verified), health_lies (/health
says ready without a camera), broken_release (the service refuses to start, exit status 3).
"""

from __future__ import annotations

KNOBS = ("wrong_status", "schema_drift", "auth_bypass", "slow_capture", "corrupt_transfer", "health_lies",
         "broken_release")


class Faults:
    def __init__(self, values: dict):
        unknown = sorted(set(values) - set(KNOBS))
        if unknown:
            raise ValueError(f"unknown fault knob(s) {', '.join(unknown)} (known: {', '.join(KNOBS)})")
        self.values = dict(values)

    def on(self, name: str) -> bool:
        return str(self.values.get(name, "")).lower() in ("1", "true", "yes", "on")

    def number(self, name: str) -> float:
        try:
            return float(self.values.get(name) or 0)
        except ValueError as exc:
            raise ValueError(f"fault knob {name}={self.values[name]!r}: expected a number") from exc
