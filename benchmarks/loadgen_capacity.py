"""How many JSON-RPC calls per second one CPU core of the load generator sustains: the Locust user
(ivv.load, gevent + websocket-client) against a plain asyncio `websockets` client doing the same calls,
side by side in one run against the local reference stack (rate limit off so the generator is measured,
not the limit).

    .venv/bin/python benchmarks/loadgen_capacity.py [--users 4] [--duration 8]

Each generator runs in its own process and reports the CPU time it spent during its load window
(time.process_time), so startup and imports are not counted. Figures: calls, calls/s, generator CPU
seconds, calls per CPU-second (= calls/s per core), and the ratio Locust / asyncio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEVSTACK = ROOT / "deployment/stacks/camera-service-dev/devstack.py"
MIX = {"ping": 4, "get_camera_list": 3, "get_camera_status": 2, "get_metrics": 1}
PARAMS = {"get_camera_status": {"device": "/dev/video0"}}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_stack(state: Path) -> tuple[str, str]:
    """The reference service as local processes (rate limit off); returns (url, admin token)."""
    from ivv.rpc.auth import Credentials

    ports = [str(free_port()) for _ in range(3)]
    out = subprocess.run([sys.executable, str(DEVSTACK), "start", "--state", str(state), "--rpc-port", ports[0],
                          "--health-port", ports[1], "--media-port", ports[2], "--fault", "no_rate_limit=1"],
                         check=True, capture_output=True, text=True, timeout=60)
    info = json.loads(out.stdout.strip().splitlines()[-1])
    secret = dict(line.split("=", 1) for line in Path(info["credentials"]).read_text().split())
    return info["rpc"], Credentials(jwt_secret=secret["CAMERA_SERVICE_JWT_SECRET"]).token("admin")


def stop_stack(state: Path) -> None:
    subprocess.run([sys.executable, str(DEVSTACK), "stop", "--state", str(state)], timeout=30, check=False)


async def asyncio_client(url: str, token: str, users: int, duration: float) -> dict:
    """Closed loop like the Locust user: one connection per user, authenticate, weighted calls."""
    import websockets

    methods, weights = list(MIX), list(MIX.values())
    counts = {"ok": 0, "failed": 0}

    async def one_user(seed: int) -> None:
        rng = random.Random(seed)
        async with websockets.connect(url, max_size=2**20) as ws:
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 0, "method": "authenticate",
                                      "params": {"auth_token": token}}))
            await ws.recv()
            call_id = 0
            while time.time() < end_at:
                call_id += 1
                method = rng.choices(methods, weights)[0]
                message = {"jsonrpc": "2.0", "id": call_id, "method": method}
                if method in PARAMS:
                    message["params"] = PARAMS[method]
                t0 = time.perf_counter()
                await ws.send(json.dumps(message))
                reply = json.loads(await ws.recv())
                _latency = time.perf_counter() - t0
                counts["ok" if "result" in reply and reply.get("id") == call_id else "failed"] += 1

    started, cpu0 = time.time(), time.process_time()
    end_at = started + duration
    await asyncio.gather(*(one_user(i) for i in range(users)))
    return {"requests": counts["ok"] + counts["failed"], "failed": counts["failed"],
            "window_s": time.time() - started, "cpu_s": time.process_time() - cpu0}


def run_locust(url: str, token: str, users: int, duration: float, out: Path) -> dict:
    from ivv.load.launch import run_load
    from ivv.load.spec import spec_from_settings

    spec = spec_from_settings(url, {"users": users, "spawn_rate": 100, "duration_s": duration, "task_mix": MIX})
    result = run_load(spec, out, token=token).result
    s = result["summary"]
    return {"requests": s["requests"], "failed": s["failed"], "window_s": s["window_s"],
            "cpu_s": result["generator_cpu_s"]}


def run_asyncio(url: str, token: str, users: int, duration: float) -> dict:
    env = dict(os.environ, IVV_LOAD_TOKEN=token)
    out = subprocess.run([sys.executable, __file__, "--asyncio-client", url, "--users", str(users),
                          "--duration", str(duration)], env=env, capture_output=True, text=True,
                         timeout=duration + 60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def line(name: str, r: dict) -> str:
    per_core = r["requests"] / r["cpu_s"] if r["cpu_s"] else float("nan")
    r["per_core"] = per_core
    return (f"{name:<22} {r['requests']:>8} calls {r['requests'] / r['window_s']:>9.0f} calls/s "
            f"{r['failed']:>6} failed  generator CPU {r['cpu_s']:>6.2f} s  {per_core:>8.0f} calls/s per core")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--asyncio-client", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.asyncio_client:
        print(json.dumps(asyncio.run(asyncio_client(args.asyncio_client, os.environ["IVV_LOAD_TOKEN"],
                                                    args.users, args.duration))))
        return 0
    with tempfile.TemporaryDirectory(prefix="ivv-loadgen-") as tmp:
        state = Path(tmp) / "stack"
        url, token = start_stack(state)
        try:
            locust = run_locust(url, token, args.users, args.duration, Path(tmp) / "locust")
            plain = run_asyncio(url, token, args.users, args.duration)
        finally:
            stop_stack(state)
    print(f"load generator capacity, {args.users} connections, {args.duration:g} s each, closed loop, "
          f"{os.cpu_count()} cores shared with the service")
    print(line("Locust JSON-RPC user", locust))
    print(line("asyncio websockets", plain))
    print(f"ratio Locust / asyncio (calls per CPU-second): {locust['per_core'] / plain['per_core']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
