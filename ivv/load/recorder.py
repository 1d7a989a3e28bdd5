"""Collects every request event of a Locust process as plain tuples (for HDR percentiles and series).

Locust's own stats keep rounded response-time buckets; the recorder keeps each call so percentiles come
from an HDR histogram of every request and latency can be plotted over time. In distributed mode each
worker's recorder hands its new samples to the master with every stats report (`take` / `merge`).
"""

from __future__ import annotations

from collections import Counter

from ivv.load.connections import connection_events

CALL_FIELDS = ("wall", "latency_ms", "method", "ok", "sent", "lag_ms", "error")
SETUP_FIELDS = ("wall", "latency_ms", "name", "ok", "error")


def describe(exc: BaseException | None) -> str | None:
    if exc is None:
        return None
    return f"{type(exc).__name__}: {exc}"[:200]


class Recorder:
    """Listener on `request` and `connection`; `calls` are task-mix calls, `setup` connect/authenticate."""

    def __init__(self, environment=None):
        self.calls: list[tuple] = []
        self.setup: list[tuple] = []
        self.connections: Counter = Counter()
        if environment is not None:
            environment.events.request.add_listener(self.on_request)
            connection_events(environment).add_listener(self.on_connection)

    def on_request(self, request_type, name, response_time, response_length, exception=None, context=None,
                   **_kwargs) -> None:
        context = context or {}
        kind = context.get("kind", "call")
        wall = context.get("wall", 0.0)
        if kind == "call":
            self.calls.append((wall, float(response_time), name, exception is None, bool(context.get("sent", True)),
                               float(context.get("lag_ms", 0.0)), describe(exception)))
        else:
            self.setup.append((wall, float(response_time), name, exception is None, describe(exception)))

    def on_connection(self, state: str, **_kwargs) -> None:
        self.connections[state] += 1

    def take(self) -> dict:
        """Everything recorded since the last take (for a worker's report to the master)."""
        data = {"calls": self.calls, "setup": self.setup, "connections": dict(self.connections)}
        self.calls, self.setup, self.connections = [], [], Counter()
        return data

    def merge(self, data: dict) -> None:
        self.calls.extend(tuple(c) for c in data.get("calls", ()))
        self.setup.extend(tuple(s) for s in data.get("setup", ()))
        self.connections.update(data.get("connections", {}))
