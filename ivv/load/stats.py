"""Turn recorded calls into the figures a gate asks for: HDR percentiles, throughput, errors, stability.

Pure functions over plain tuples (see `recorder.CALL_FIELDS`), so they are tested without a network.
Latency of every sent call goes into one HDR histogram (1 us resolution, 3 significant digits); calls
never sent (no connection) count as errors but have no latency to record.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

from hdrh.histogram import HdrHistogram

PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)
HIGHEST_US = 3_600_000_000


def histogram(latencies_ms) -> HdrHistogram:
    h = HdrHistogram(1, HIGHEST_US, 3)
    for ms in latencies_ms:
        h.record_value(min(HIGHEST_US, max(1, int(round(ms * 1000.0)))))
    return h


def latency_summary(latencies_ms: list[float]) -> dict:
    """avg, min, max, stddev and percentiles in ms, from an HDR histogram of every value."""
    if not latencies_ms:
        return {"count": 0}
    h = histogram(latencies_ms)
    out = {"count": h.get_total_count(), "avg_ms": h.get_mean_value() / 1000.0,
           "min_ms": h.get_min_value() / 1000.0, "max_ms": h.get_max_value() / 1000.0,
           "stddev_ms": h.get_stddev() / 1000.0}
    for p in PERCENTILES:
        out[f"p{p:g}_ms".replace(".", "_")] = h.get_value_at_percentile(p) / 1000.0
    return out


def stability(connections: dict) -> dict:
    """Connections kept / opened: a connection opened and later dropped by the service is not kept. None
    opened and some refused is 0 (no connection held); none opened or refused is no observation (None)."""
    opened = int(connections.get("opened", 0))
    dropped = int(connections.get("dropped", 0))
    failed = int(connections.get("failed", 0))
    kept = max(0, opened - dropped)
    ratio = (kept / opened) if opened else (0.0 if failed else None)
    return {"opened": opened, "dropped": dropped, "failed": failed, "kept": kept, "ratio": ratio}


def time_series(calls: list[tuple], started: float, bucket_s: float = 1.0) -> dict:
    """Per-bucket calls sent (`requests`), successful (`ok`), failed (`errors`) and latency percentiles
    (exact, from the raw values) since `started`; a call counts in the bucket of its start time."""
    buckets: dict[int, list] = defaultdict(list)
    errors: Counter = Counter()
    oks: Counter = Counter()
    for wall, latency, _m, ok, sent, _lag, _err in calls:
        b = max(0, int((wall - started) // bucket_s))
        if sent:
            buckets[b].append(latency)
        if ok:
            oks[b] += 1
        else:
            errors[b] += 1
    last = max(list(buckets) + list(errors) + [-1])
    series = {"t_s": [], "requests": [], "ok": [], "errors": [], "p50_ms": [], "p95_ms": [], "p99_ms": [], "max_ms": []}
    for b in range(last + 1):
        values = sorted(buckets.get(b, []))
        series["t_s"].append(round(b * bucket_s, 3))
        series["requests"].append(len(values))
        series["ok"].append(oks.get(b, 0))
        series["errors"].append(errors.get(b, 0))
        for key, q in (("p50_ms", 0.50), ("p95_ms", 0.95), ("p99_ms", 0.99), ("max_ms", 1.0)):
            series[key].append(_quantile(values, q) if values else None)
    return series


def _quantile(sorted_values: list[float], q: float) -> float:
    index = max(0, math.ceil(q * len(sorted_values)) - 1)
    return round(sorted_values[index], 3)


def summarize(calls: list[tuple], setup: list[tuple], connections: dict, started: float, ended: float) -> dict:
    """The run's figures. Throughput = successful replies per second of the window in which calls were
    made: first call's start to last call's end (connection set-up and the final drain are not load)."""
    if calls:
        first = min(c[0] for c in calls)
        last = max(c[0] + c[1] / 1000.0 for c in calls)
        window = max(1e-9, min(ended, last) - max(started, first))
    else:
        window = max(1e-9, ended - started)
    sent = [c[1] for c in calls if c[4]]
    ok = sum(1 for c in calls if c[3])
    failed = len(calls) - ok
    per_method = defaultdict(list)
    for c in calls:
        if c[4]:
            per_method[c[2]].append(c[1])
    lags = [c[5] for c in calls if c[4]]
    return {
        "window_s": window,
        "window": [max(started, first), min(ended, last)] if calls else [started, ended],
        "requests": len(calls),
        "ok": ok,
        "failed": failed,
        "not_sent": sum(1 for c in calls if not c[4]),
        "error_rate": (failed / len(calls)) if calls else 1.0,
        "throughput_rps": ok / window,
        "offered_rps": len(calls) / window,
        "latency": latency_summary(sent),
        "per_method": {m: latency_summary(v) for m, v in sorted(per_method.items())},
        "errors": dict(Counter(c[6].split(":")[0] for c in calls if c[6]).most_common()),
        "error_examples": sorted({c[6] for c in calls if c[6]})[:10],
        "send_lag": latency_summary(lags) if lags else {"count": 0},
        "setup": {name: {"count": sum(1 for s in setup if s[2] == name),
                         "failed": sum(1 for s in setup if s[2] == name and not s[3]),
                         "latency": latency_summary([s[1] for s in setup if s[2] == name and s[3]])}
                  for name in sorted({s[2] for s in setup})},
        "connections": stability(connections),
    }
