"""The one poller: wait for a condition, bounded in time and in polls, keeping what each poll saw.

Every "wait until ready / not ready / the port answers / the device is back" in ivv goes through
`wait_until`, so a wait can never be unbounded and always says how it ended (reached or not, after how
long, how many polls, the last observations). Built on tenacity's retry loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tenacity import RetryError, Retrying, retry_if_result, stop_after_attempt, stop_after_delay, wait_fixed


@dataclass
class WaitResult:
    """How a bounded wait ended."""

    reached: bool
    elapsed_s: float
    polls: int
    last: Any = None
    history: list = field(default_factory=list)


def wait_until(check: Callable[[], tuple[bool, Any]], timeout_s: float, interval_s: float = 0.25,
               keep: int = 20) -> WaitResult:
    """Poll `check` (returns (done, observation)) until done or `timeout_s`; at least one poll, at most
    timeout/interval + 2."""
    start = time.monotonic()
    history: list = []

    def poll() -> bool:
        done, seen = check()
        history.append(seen)
        del history[:-keep]
        return bool(done)

    max_polls = int(timeout_s / max(interval_s, 0.01)) + 2
    retrying = Retrying(stop=stop_after_delay(max(timeout_s, 0.0)) | stop_after_attempt(max_polls),
                        wait=wait_fixed(max(interval_s, 0.0)), retry=retry_if_result(lambda done: not done),
                        reraise=True)
    try:
        reached = retrying(poll)
    except RetryError:
        reached = False
    polls = retrying.statistics.get("attempt_number", len(history))
    return WaitResult(bool(reached), time.monotonic() - start, polls, history[-1] if history else None, history)


def wait_for(predicate: Callable[[], bool], timeout_s: float, interval_s: float = 0.25) -> WaitResult:
    """`wait_until` for a plain yes/no predicate."""
    def check() -> tuple[bool, bool]:
        value = bool(predicate())
        return value, value
    return wait_until(check, timeout_s, interval_s)
