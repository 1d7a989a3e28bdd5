"""How close the latencies ivv reports are to the truth: the Locust JSON-RPC user against a minimal
JSON-RPC server whose own per-request timing we control and record.

    .venv/bin/python benchmarks/latency_accuracy.py [--duration 5]

The reference stack logs no per-request timing and no packet capture tool is installed here, so the
server is a small asyncio `websockets` process (same machine, same CLOCK_MONOTONIC) that holds each call
for a known 0-24 ms and records when it received the request and when it sent the reply. With one
connection the k-th call of the harness is the server's k-th request, so every call is compared one to
one: error = harness latency - server time (request in -> reply out). What remains is the harness's own
cost plus the loopback: the error of the figure in the report. Closed model and open model (where the
harness measures from the scheduled send time) are both shown, plus percentiles at 4 connections.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import websocket

ROOT = Path(__file__).resolve().parents[1]


async def serve(port: int) -> None:
    import websockets

    timings: list[list] = []

    async def answer(ws, conn: int, message: dict, t_in: float) -> None:
        call_id = message.get("id")
        if message.get("method") == "dump_timings":
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": call_id, "result": timings}))
            return
        if message.get("method") == "authenticate":
            result = {"authenticated": True}
        else:
            await asyncio.sleep(((int(call_id) * 37) % 25) / 1000.0)
            result = "pong"
        reply = json.dumps({"jsonrpc": "2.0", "id": call_id, "result": result})
        t_out = time.perf_counter()
        await ws.send(reply)
        if message.get("method") != "authenticate":
            timings.append([conn, call_id, t_in, t_out])

    async def handler(ws) -> None:
        conn = id(ws)
        tasks = set()
        async for raw in ws:
            t_in = time.perf_counter()
            task = asyncio.create_task(answer(ws, conn, json.loads(raw), t_in))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    async with websockets.serve(handler, "127.0.0.1", port):
        await asyncio.sleep(600)  # bounded: the benchmark stops it long before


def run_case(port: int, settings: dict, out: Path):
    from ivv.load.launch import run_load
    from ivv.load.spec import spec_from_settings

    spec = spec_from_settings(f"ws://127.0.0.1:{port}/", {"task_mix": {"ping": 1}, "spawn_rate": 100, **settings})
    lag = run_load(spec, out).summary["send_lag"]
    with open(out / "requests.csv") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: float(r["wall"]))
    harness = [float(r["latency_ms"]) for r in rows if r["ok"] == "True"]
    ws = websocket.create_connection(f"ws://127.0.0.1:{port}/", timeout=10)
    ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "dump_timings"}))
    server = json.loads(ws.recv())["result"]
    ws.close()
    return harness, server, lag


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1))]


def one_to_one(name: str, harness: list[float], server: list[list]) -> None:
    server_ms = [(t_out - t_in) * 1000.0 for _c, _i, t_in, t_out in sorted(server, key=lambda r: r[1])]
    n = min(len(harness), len(server_ms))
    errors_us = [(harness[k] - server_ms[k]) * 1000.0 for k in range(n)]
    print(f"{name}: {n} calls matched one to one (server held 0-24 ms, mean {statistics.mean(server_ms[:n]):.2f} ms)")
    print(f"    error = harness - server: median {statistics.median(errors_us):.0f} us, "
          f"p95 {pct(errors_us, 95):.0f} us, p99 {pct(errors_us, 99):.0f} us, max {max(errors_us):.0f} us, "
          f"min {min(errors_us):.0f} us")


def distribution(name: str, harness: list[float], server: list[list]) -> None:
    server_ms = [(t_out - t_in) * 1000.0 for _c, _i, t_in, t_out in server]
    print(f"{name}: {len(harness)} harness calls, {len(server_ms)} at the server")
    for p in (50, 95, 99):
        h, s = pct(harness, p), pct(server_ms, p)
        print(f"    p{p}: harness {h:.3f} ms, server {s:.3f} ms, error {1000 * (h - s):+.0f} us")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve))
        return 0
    from ivv.load.distributed import free_port

    cases = [("closed model, 1 connection", {"users": 1, "duration_s": args.duration}, one_to_one),
             ("open model 100 calls/s, 1 connection",
              {"users": 1, "duration_s": args.duration, "arrival_rate_per_s": 100}, one_to_one),
             ("open model 200 calls/s, 4 connections",
              {"users": 4, "duration_s": args.duration, "arrival_rate_per_s": 200}, distribution)]
    with tempfile.TemporaryDirectory(prefix="ivv-latacc-") as tmp:  # noqa: SIM117
        for i, (name, settings, report) in enumerate(cases):
            port = free_port()
            server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
            try:
                deadline = time.time() + 15
                while True:
                    try:
                        websocket.create_connection(f"ws://127.0.0.1:{port}/", timeout=1).close()
                        break
                    except OSError:
                        if time.time() > deadline:
                            raise
                        time.sleep(0.1)
                harness, timings, lag = run_case(port, settings, Path(tmp) / f"case{i}")
                report(name, harness, timings)
                if settings.get("arrival_rate_per_s"):
                    print(f"    generator send lag behind schedule (counted in the open-model latency by design): "
                          f"p50 {lag['p50_ms'] * 1000:.0f} us, p99 {lag['p99_ms'] * 1000:.0f} us")
            finally:
                server.terminate()
                server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
