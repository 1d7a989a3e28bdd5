"""The open model's schedule, one rule for every protocol's Locust user.

A paced user sends at fixed due times whether or not earlier replies came back, and its calls are timed
from the due time, not from when they went out: a stalled server then shows up in the latency instead
of slowing the generator down with it (coordinated omission). The protocol's user supplies
`send_due(due, wall, lag_ms)`; this module decides when that is called.
"""

from __future__ import annotations

import random
import time

import gevent

MAX_IN_FLIGHT = 10_000
SPIN_S = 0.002


class Backlog(Exception):
    """Too many calls in flight; the call was not sent."""


def wait_until(due: float) -> None:
    """Sleep until `due` (perf_counter). The event loop's timers wake up to a millisecond late (epoll has
    ms resolution), which the open model would count as latency: sleep to just before, then yield."""
    delay = due - time.perf_counter() - SPIN_S
    if delay > 0:
        gevent.sleep(delay)
    while time.perf_counter() < due:
        gevent.sleep(0)


class Paced:
    """Mixin for a Locust user with `spec`, `end_at` (wall clock) and `budget`: `run_paced` sends at the
    spec's arrival rate for the whole run or, with a `clock` (the capacity search's `StepClock`), at each
    published step's rate between its start and end."""

    clock = None

    def send_due(self, due: float, wall: float, lag_ms: float) -> None:
        raise NotImplementedError

    def run_paced(self) -> None:
        if self.clock is None:
            wall_offset = time.time() - time.perf_counter()
            self.paced(self.spec.arrival_rate_per_s, time.perf_counter(), self.end_at - wall_offset)
        else:
            for step in self.clock.steps():
                self.paced(step.rate, step.start, step.end)

    def paced(self, rate: float, start: float, end: float) -> None:
        """This user's share of `rate` calls/s from `start` to `end` (perf_counter), each sent at its due
        time (a random phase per user, so users do not fire in step) and timed from that due time."""
        interval = self.spec.users / float(rate)
        t_start = start + random.uniform(0, interval)
        wall_offset = time.time() - time.perf_counter()
        k = 0
        while self.budget > 0:
            due = t_start + k * interval
            if due >= end:
                break
            wait_until(due)
            self.send_due(due, due + wall_offset, max(0.0, (time.perf_counter() - due) * 1000.0))
            self.budget -= 1
            k += 1
