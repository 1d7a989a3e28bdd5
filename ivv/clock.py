"""How far a device's clock is from this machine's, and how sure we are: NTP-style exchanges.

One exchange reads the local clock before asking (t0), the device's clock in its answer (ts) and the
local clock when the answer came (t3). The device read its clock somewhere inside [t0, t3], so the
offset is ts - (t0 + t3) / 2 give or take half the round trip. Of several exchanges the one with the
shortest round trip is the tightest. Over the API itself a round trip is a few ms, which is what placing
a notification inside 20 ms needs; over SSH it is 0.1-0.5 s, enough to say whether a fleet's clocks
are in sync.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ClockOffset:
    """device clock - local clock, in seconds, with its uncertainty (half the best round trip)."""

    offset_s: float
    uncertainty_s: float
    rtt_s: float
    exchanges: int

    def to_local(self, device_time: float) -> float:
        """A device timestamp on this machine's clock (± uncertainty_s)."""
        return device_time - self.offset_s

    def as_dict(self) -> dict:
        return {"offset_ms": round(self.offset_s * 1000, 3), "uncertainty_ms": round(self.uncertainty_s * 1000, 3),
                "rtt_ms": round(self.rtt_s * 1000, 3), "exchanges": self.exchanges}


def estimate(samples: Iterable[tuple[float, float, float]]) -> ClockOffset:
    """The offset from (t0, device time, t3) samples; ValueError when there is none."""
    best = None
    count = 0
    for t0, ts, t3 in samples:
        count += 1
        rtt = max(t3 - t0, 0.0)
        if best is None or rtt < best[0]:
            best = (rtt, ts - (t0 + t3) / 2)
    if best is None:
        raise ValueError("no clock exchange to estimate an offset from")
    return ClockOffset(best[1], best[0] / 2, best[0], count)


def measure(read_device_clock: Callable[[], float], exchanges: int = 8,
            local_clock: Callable[[], float] = time.time) -> ClockOffset:
    """`exchanges` round trips of `read_device_clock()` (the device's epoch seconds)."""
    samples = []
    for _ in range(max(1, exchanges)):
        t0 = local_clock()
        device = read_device_clock()
        samples.append((t0, device, local_clock()))
    return estimate(samples)


@dataclass(frozen=True)
class Bracket:
    """A latency known only within [lower_ms, upper_ms]."""

    lower_ms: float
    upper_ms: float

    @classmethod
    def since_event(cls, arrived_local: float, event_device_time: float, clock: ClockOffset) -> Bracket:
        """Arrival minus the event time, the event moved onto this machine's clock, ± the offset's uncertainty."""
        latency = (arrived_local - clock.to_local(event_device_time)) * 1000
        margin = clock.uncertainty_s * 1000
        return cls(latency - margin, latency + margin)
