"""How fast a health endpoint answers: calls over one keep-alive session, and nearest-rank percentiles."""

from __future__ import annotations

import statistics
from collections.abc import Iterable

import requests

from ivv.health.readiness import HealthAnswer, probe


def percentiles(values: Iterable[float], points: Iterable[int] = (50, 90, 95, 99)) -> dict[str, float]:
    """Nearest-rank percentiles plus min/max/mean; empty input is an error, not zeros."""
    data = sorted(values)
    if not data:
        raise ValueError("no values to compute percentiles from")
    out = {"min": data[0], "max": data[-1], "mean": statistics.fmean(data), "count": len(data)}
    for p in points:
        rank = max(1, -(-p * len(data) // 100))  # ceil without floats
        out[f"p{p}"] = data[rank - 1]
    return out


def sample_latency(url: str, samples: int, verify: bool | str = False, timeout: float = 5.0
                   ) -> tuple[list[float], list[HealthAnswer]]:
    """GET `url` `samples` times over one keep-alive session; returns latencies (s) of answered calls and
    the failed answers."""
    latencies: list[float] = []
    failed: list[HealthAnswer] = []
    with requests.Session() as session:
        for _ in range(max(0, int(samples))):
            answer = probe(url, timeout=timeout, verify=verify, session=session)
            if answer.answered and answer.error is None:
                latencies.append(answer.latency_s)
            else:
                failed.append(answer)
    return latencies, failed
