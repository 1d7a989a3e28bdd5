"""The one HTTP GET helper: an answer, never an exception, with its latency.

A refused connection, a timeout or a body that is not JSON is an `HttpAnswer` too (`error` says which),
because for a prober "did not answer" is an observation, not a crash. Built on requests.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests


@dataclass(frozen=True)
class HttpAnswer:
    """One GET, as plain data for evidence."""

    url: str
    status_code: int | None
    body: object | None
    latency_s: float
    error: str | None = None
    content: bytes = b""

    @property
    def answered(self) -> bool:
        return self.status_code is not None

    def summary(self) -> dict:
        return {"url": self.url, "status_code": self.status_code, "body": self.body,
                "latency_ms": round(self.latency_s * 1000, 2), "error": self.error}


def get(url: str, timeout: float = 5.0, verify: bool | str = False, session: requests.Session | None = None,
        headers: dict | None = None, json_body: bool = True) -> HttpAnswer:
    """GET `url` once. With `json_body` the body is parsed as JSON (text kept when it is not);
    otherwise `content` holds the raw bytes."""
    getter = session.get if session is not None else requests.get
    start = time.perf_counter()
    try:
        response = getter(url, timeout=timeout, verify=verify, headers=headers)
    except requests.RequestException as exc:
        return HttpAnswer(url, None, None, time.perf_counter() - start, f"{type(exc).__name__}: {exc}")
    latency = time.perf_counter() - start
    if not json_body:
        return HttpAnswer(url, response.status_code, None, latency, content=response.content)
    try:
        body = response.json()
    except ValueError:
        return HttpAnswer(url, response.status_code, response.text[:500], latency, "body is not JSON")
    return HttpAnswer(url, response.status_code, body, latency)
