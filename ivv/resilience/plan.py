"""Where an operation is cut: at every phase boundary, and at K random points from a recorded seed.

A boundary is a point the operation itself shows: the start of its 2nd, 3rd... command (`command:2`), a
phase marker line its scripts print (`phase:switch`, named by the profile's `deployment.phase_marker`),
or the moment its last command ended (`end`). They come from one uncut reference run of the operation
(its runner events), or are named by the gate (`resilience.power_cut.boundaries`) when only a few are
wanted. Random points are seconds after the operation's start, drawn uniformly over the reference run's
duration with `random.Random(seed)`: the same seed gives the same plan, so a trial can be replayed.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Boundary:
    """A point between two parts of an operation, seen in its reference run."""

    label: str                 # command:2 | phase:<name> | end
    at_s: float | None = None  # seconds after the operation's start in the reference run


@dataclass(frozen=True)
class CutPoint:
    """Where one trial cuts: at a boundary (by label) or at a time after the operation's start."""

    kind: str                  # "boundary" | "random"
    label: str
    boundary: str | None = None
    at_s: float | None = None

    def pause(self) -> dict:
        """The runner's pause spec for this cut (ivv.resilience.runner)."""
        return {"boundary": self.boundary} if self.kind == "boundary" else {"at_s": self.at_s}

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> CutPoint:
        return cls(str(data["kind"]), str(data["label"]), data.get("boundary"), data.get("at_s"))

    @classmethod
    def at_boundary(cls, label: str) -> CutPoint:
        return cls("boundary", f"boundary {label}", boundary=label)


def boundaries_from_events(events: Iterable[Mapping]) -> list[Boundary]:
    """The boundaries a runner saw (its `boundary` events, in order), `end` last."""
    out = [Boundary(str(e["label"]), e.get("t")) for e in events if e.get("event") == "boundary"]
    if not any(b.label == "end" for b in out):
        done = [e for e in events if e.get("event") == "done"]
        if done:
            out.append(Boundary("end", done[-1].get("t")))
    return out


def new_seed() -> int:
    return secrets.randbits(31)


def plan_cuts(boundaries: Sequence[Boundary], duration_s: float | None, random_cuts: int, seed: int,
              only: Sequence[str] | None = None) -> list[CutPoint]:
    """Every boundary (or those named in `only`), then `random_cuts` random points in (0, duration)."""
    if only:
        points = [CutPoint.at_boundary(label) for label in only]
    else:
        points = [CutPoint.at_boundary(b.label) for b in boundaries]
    if random_cuts:
        if not duration_s or duration_s <= 0:
            raise ValueError("random cut points need the reference run's duration")
        rng = random.Random(seed)
        for index in range(random_cuts):
            at = round(rng.uniform(0.0, float(duration_s)), 2)
            points.append(CutPoint("random", f"random {index + 1} of {random_cuts}: {at:.2f} s", at_s=at))
    return points
