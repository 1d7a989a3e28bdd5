"""A threshold is a comparison with a unit, e.g. `< 50 ms`: checks a value and prints itself for reports."""

from __future__ import annotations

import math
import numbers
import operator
import re
from dataclasses import dataclass
from typing import Any

OPERATORS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}
_SYMBOLS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "="}

# Units that convert into each other: unit -> (dimension, factor to the dimension's base unit).
_UNITS: dict[str, tuple[str, float]] = {
    "us": ("time", 1e-6), "ms": ("time", 1e-3), "s": ("time", 1.0), "min": ("time", 60.0), "h": ("time", 3600.0),
    "B": ("size", 1.0), "KB": ("size", 1e3), "MB": ("size", 1e6), "GB": ("size", 1e9),
    "KiB": ("size", 1024.0), "MiB": ("size", 1024.0**2), "GiB": ("size", 1024.0**3),
    "%": ("ratio", 0.01), "ratio": ("ratio", 1.0),
}
_TEXT = re.compile(r"^\s*(<=|>=|==|<|>|≤|≥)\s*(-?[0-9.eE+-]+)\s*(.*?)\s*$")


def convert(value: float, unit: str | None, to_unit: str | None) -> float:
    """Convert `value` from `unit` to `to_unit`; raise ValueError when they measure different things."""
    if unit == to_unit or not unit or not to_unit:
        return value
    if unit not in _UNITS or to_unit not in _UNITS or _UNITS[unit][0] != _UNITS[to_unit][0]:
        raise ValueError(f"cannot compare a value in {unit!r} with a threshold in {to_unit!r}")
    return value * _UNITS[unit][1] / _UNITS[to_unit][1]


@dataclass(frozen=True)
class Threshold:
    op: str
    value: float
    unit: str | None = None

    def __post_init__(self) -> None:
        if self.op not in OPERATORS:
            raise ValueError(f"threshold operator {self.op!r} is not one of {sorted(OPERATORS)}")

    def check(self, value: float, unit: str | None = None) -> bool:
        """True when `value` (in `unit`, default the threshold's) meets the threshold; NaN never does."""
        if value is None or isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
            return False
        return OPERATORS[self.op](convert(float(value), unit, self.unit), self.value)

    @property
    def text(self) -> str:
        number = f"{self.value:g}"
        return f"{_SYMBOLS[self.op]} {number}" + (f" {self.unit}" if self.unit else "")

    def __str__(self) -> str:
        return self.text

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "value": self.value, "unit": self.unit, "text": self.text}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Threshold:
        return cls(op=data["op"], value=float(data["value"]), unit=data.get("unit"))

    @classmethod
    def parse(cls, text: str) -> Threshold:
        """Parse `"< 50 ms"`, `">= 95 %"`, `"≤ 300 s"`."""
        match = _TEXT.match(text)
        if not match:
            raise ValueError(f"threshold {text!r} is not of the form '<op> <number> [unit]'")
        op = {"≤": "<=", "≥": ">="}.get(match.group(1), match.group(1))
        return cls(op=op, value=float(match.group(2)), unit=match.group(3) or None)

    @classmethod
    def coerce(cls, value: Threshold | dict | str | None) -> Threshold | None:
        if value is None or isinstance(value, Threshold):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        return cls.from_dict(value)
