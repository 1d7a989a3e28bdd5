"""Latency and memory of the reference stack on the local target: does it meet its published targets?

Starts the stack as local processes, then C concurrent authenticated WebSocket clients each send N
calls of `ping` and of `get_camera_status` back to back (closed loop). Prints p50/p95/p99/max per
method, the throughput, and the service's resident memory before and after. Published targets: status
methods under 50 ms. Usage: python benchmarks/stack_latency.py [--clients 20] [--calls 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from websockets.asyncio.client import connect

from ivv.config import profile as profile_mod
from ivv.stack import local as stack

TARGET_MS = 50.0


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS")) / 1024


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


async def client(url: str, token: str, calls: int, results: dict[str, list[float]]) -> None:
    async with connect(url, max_size=2**20) as ws:
        await ws.send(json.dumps({"jsonrpc": "2.0", "method": "authenticate", "params": {"auth_token": token}, "id": 0}))
        assert "result" in json.loads(await ws.recv())
        for i in range(calls):
            for method, params in (("ping", None), ("get_camera_status", {"device": "/dev/video0"})):
                frame = {"jsonrpc": "2.0", "method": method, "id": i}
                if params:
                    frame["params"] = params
                t0 = time.perf_counter()
                await ws.send(json.dumps(frame))
                while True:
                    reply = json.loads(await ws.recv())
                    if reply.get("id") == i:
                        break
                if "result" not in reply:
                    raise RuntimeError(f"{method}: {reply.get('error')}")
                results[method].append((time.perf_counter() - t0) * 1000)


async def run(url: str, token: str, clients: int, calls: int) -> tuple[dict[str, list[float]], float]:
    results: dict[str, list[float]] = {"ping": [], "get_camera_status": []}
    t0 = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(client(url, token, calls, results) for _ in range(clients))), 600)
    return results, time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--calls", type=int, default=200, help="calls of each method per client")
    args = parser.parse_args()
    profile = profile_mod.load()
    # The per-connection rate limit (200/s) would answer a fast closed loop with -32002; this measures
    # latency, so the limiter is off (fault knob no_rate_limit) and says so below.
    faults = {"no_rate_limit": True}
    with stack.start_local(profile, Path(tempfile.mkdtemp(prefix="ivv-bench-")), faults) as running:
        pid = running.service.proc.pid
        token = running.credentials(api_keys=False).token("viewer")
        idle = rss_mb(pid)
        asyncio.run(run(running.rpc_url, token, 2, 20))  # warm-up
        results, elapsed = asyncio.run(run(running.rpc_url, token, args.clients, args.calls))
        loaded = rss_mb(pid)
    total = sum(len(v) for v in results.values())
    print(f"reference stack, local target: {args.clients} concurrent clients x {args.calls} calls per method "
          f"(closed loop; rate limit off)")
    print(f"{'method':<20}{'n':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'mean ms':>9}  target")
    verdict = True
    for method, values in results.items():
        p95 = percentile(values, 95)
        verdict &= p95 < TARGET_MS
        print(f"{method:<20}{len(values):>7}{percentile(values, 50):>9.2f}{p95:>9.2f}{percentile(values, 99):>9.2f}"
              f"{max(values):>9.2f}{statistics.fmean(values):>9.2f}  p95 < {TARGET_MS:.0f} ms: "
              f"{'met' if p95 < TARGET_MS else 'NOT met'}")
    print(f"throughput {total / elapsed:.0f} calls/s over {elapsed:.1f} s")
    print(f"service RSS: idle {idle:.1f} MiB, after load {loaded:.1f} MiB")
    return 0 if verdict else 1


if __name__ == "__main__":
    raise SystemExit(main())
