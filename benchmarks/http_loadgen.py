"""How many HTTP calls per CPU-second a load generator sustains: Locust's FastHttpUser and HttpUser against
plain client loops (requests.Session, http.client) doing the same keep-alive GETs, side by side in one run
against the REST capture stub on 127.0.0.1 (tests/stubs/capture_stub.py, a bearer token on every call).

    .venv/bin/python benchmarks/http_loadgen.py [--users 4] [--duration 6]

Each generator runs in its own process and reports the CPU time it spent during its load window
(time.process_time), so startup and imports are not counted; every loop is bounded by the duration and by
--max-calls. Figures: calls, calls/s, failed, generator CPU seconds, calls per CPU-second (= calls/s per
core), and each generator's ratio to the plain requests loop. The stub shares the machine's cores.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

from ivv.rpc.auth import claims, sign

ROOT = Path(__file__).resolve().parents[1]
STUB = ROOT / "tests/stubs/capture_stub.py"
PATH = "/status"
GENERATORS = ("locust-fasthttp", "locust-http", "requests-loop", "http.client-loop")


def start_stub(secret: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, str(STUB), secret], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        raise SystemExit(f"{STUB}: the stub did not start ({line!r})")
    return proc, f"http://127.0.0.1:{int(line.split()[1])}"


def locust_run(kind: str, base: str, token: str, users: int, duration: float, max_calls: int) -> dict:
    import gevent
    from locust import constant, task
    from locust.contrib.fasthttp import FastHttpUser
    from locust.env import Environment
    from locust.user.users import HttpUser

    counts = {"ok": 0, "failed": 0}
    base_class = FastHttpUser if kind == "locust-fasthttp" else HttpUser

    class StatusUser(base_class):
        host = base
        wait_time = constant(0)

        @task
        def status(self):
            if counts["ok"] + counts["failed"] >= max_calls:
                gevent.sleep(0.1)
                return
            self.client.get(PATH, headers={"Authorization": f"Bearer {token}"})

    env = Environment(user_classes=[StatusUser])

    def on_request(exception=None, **_kw):
        counts["failed" if exception else "ok"] += 1

    env.events.request.add_listener(on_request)
    runner = env.create_local_runner()
    started, cpu0 = time.time(), time.process_time()
    runner.start(users, spawn_rate=1000)
    gevent.sleep(duration)
    runner.quit()
    return {"requests": counts["ok"] + counts["failed"], "failed": counts["failed"],
            "window_s": time.time() - started, "cpu_s": time.process_time() - cpu0}


def loop_run(kind: str, base: str, token: str, duration: float, max_calls: int) -> dict:
    """One client, one keep-alive connection, back-to-back GETs (threads would only add the GIL)."""
    import requests

    headers = {"Authorization": f"Bearer {token}"}
    ok = failed = 0
    started, cpu0 = time.time(), time.process_time()
    end_at = started + duration
    if kind == "requests-loop":
        with requests.Session() as session:
            while time.time() < end_at and ok + failed < max_calls:
                answer = session.get(base + PATH, headers=headers, timeout=5)
                ok, failed = (ok + 1, failed) if answer.status_code == 200 else (ok, failed + 1)
    else:
        host, port = base.split("//", 1)[1].split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        while time.time() < end_at and ok + failed < max_calls:
            conn.request("GET", PATH, headers=headers)
            answer = conn.getresponse()
            answer.read()
            ok, failed = (ok + 1, failed) if answer.status == 200 else (ok, failed + 1)
        conn.close()
    return {"requests": ok + failed, "failed": failed, "window_s": time.time() - started,
            "cpu_s": time.process_time() - cpu0}


def run_generator(kind: str, base: str, token: str, users: int, duration: float, max_calls: int) -> dict:
    env = dict(os.environ, IVV_BENCH_TOKEN=token)
    out = subprocess.run([sys.executable, __file__, "--generator", kind, "--base", base, "--users", str(users),
                          "--duration", str(duration), "--max-calls", str(max_calls)], env=env,
                         capture_output=True, text=True, timeout=duration + 90, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def line(name: str, r: dict, baseline: dict | None) -> str:
    r["per_core"] = r["requests"] / r["cpu_s"] if r["cpu_s"] else float("nan")
    ratio = f"{r['per_core'] / baseline['per_core']:.2f}x" if baseline and baseline.get("per_core") else "1.00x"
    return (f"{name:<18} {r['requests']:>7} calls {r['requests'] / r['window_s']:>7.0f} calls/s {r['failed']:>5} failed"
            f"  CPU {r['cpu_s']:>5.2f} s  {r['per_core']:>6.0f} calls per CPU-second  ({ratio} the requests loop)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=4, help="Locust users (the plain loops use one client)")
    parser.add_argument("--duration", type=float, default=6.0)
    parser.add_argument("--max-calls", type=int, default=200_000)
    parser.add_argument("--generator", choices=GENERATORS, help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generator:
        token = os.environ["IVV_BENCH_TOKEN"]
        if args.generator.startswith("locust"):
            result = locust_run(args.generator, args.base, token, args.users, args.duration, args.max_calls)
        else:
            result = loop_run(args.generator, args.base, token, args.duration, args.max_calls)
        print(json.dumps(result))
        return 0
    secret = secrets.token_urlsafe(24)
    token = sign(claims("admin", "ivv-bench"), secret)
    proc, base = start_stub(secret)
    try:
        results = {kind: run_generator(kind, base, token, args.users, args.duration, args.max_calls)
                   for kind in ("requests-loop", *[g for g in GENERATORS if g != "requests-loop"])}
    finally:
        proc.kill()
        proc.wait(10)
    print(f"HTTP load generator cost, GET {PATH} with a bearer token, {args.duration:g} s each, closed loop, "
          f"{args.users} Locust users, {os.cpu_count()} cores shared with the stub")
    print(line("requests-loop", results["requests-loop"], None))
    baseline = results["requests-loop"]
    for kind in GENERATORS:
        if kind != "requests-loop":
            print(line(kind, results[kind], baseline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
