"""Distributed load with Locust's own master/worker runners: one master, N worker processes.

The master starts its local workers on this machine (127.0.0.1) and, for load-generator hosts
(ivv.load.remote), one SSH session per remote worker, then binds where those hosts reach it. Each worker
records its own calls; at the end the master asks every worker to drain its calls in flight and send them
(custom messages `ivv_flush` / `ivv_samples`), so the master writes the same evidence as a local run: one
HDR histogram over every request of every worker. How many workers sent their calls is in the result
(`workers_flushed`); a run where one did not decides nothing (ivv.load.figures).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import gevent

from ivv.errors import PrerequisiteError
from ivv.load.recorder import Recorder
from ivv.load.remote import LoadHost, bind_address
from ivv.load.runner import finish, make_environment, start_csv, wait_for_drain
from ivv.load.spec import TOKEN_ENV, LoadSpec

WORKER_START_TIMEOUT_S = 30.0
REMOTE_START_TIMEOUT_S = 60.0     # an SSH session and imports on a slower host
WORKER_EXIT_TIMEOUT_S = 10.0


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def run_master(spec: LoadSpec, token: str | None, out_dir: Path, workers: int,
               hosts: list[LoadHost] | tuple = ()) -> dict:
    """`workers` local worker processes plus each host's `workers` remote ones, all under one master."""
    env, user = make_environment(spec, token)
    recorder = Recorder()  # the master runs no users: it only merges what the workers send
    bind = bind_address(list(hosts)) if hosts else "127.0.0.1"
    local_master = "127.0.0.1" if bind == "*" else bind
    port = free_port(local_master)
    runner = env.create_master_runner(bind, port)
    flushed: list[str] = []
    total = workers + sum(h.workers for h in hosts)

    def on_samples(environment, msg, **_kw) -> None:
        recorder.merge(msg.data)
        flushed.append(msg.node_id)

    runner.register_message("ivv_samples", on_samples)
    spec_path = spec.write(out_dir / "spec.json")
    procs = [start_worker(spec_path, token, f"{local_master}:{port}", out_dir / f"worker{i}.log") for i in range(workers)]
    for host in hosts:
        procs += [start_remote_worker(host, spec, token, port, out_dir / f"{host.name}-worker{i}.log")
                  for i in range(host.workers)]
    generators = ([{"host": "harness", "workers": workers}] if workers else []) + \
        [{"host": h.name, "workers": h.workers, "master": f"{h.master}:{port}"} for h in hosts]
    try:
        limit = REMOTE_START_TIMEOUT_S if hosts else WORKER_START_TIMEOUT_S
        deadline = time.time() + limit
        while runner.worker_count < total:
            if time.time() > deadline or any(p.poll() is not None for p in procs):
                raise PrerequisiteError(f"only {runner.worker_count} of {total} Locust workers connected to "
                                        f"{bind}:{port} within {limit:g} s (see *worker*.log in {out_dir})")
            gevent.sleep(0.1)
        writer = start_csv(env, out_dir)
        started = time.time()
        user.end_at = started + spec.duration_s
        runner.send_message("ivv_end_at", {"end_at": user.end_at})
        runner.start(spec.users, spawn_rate=spec.spawn_rate)
        gevent.sleep(max(0.0, user.end_at - time.time()))
        runner.send_message("ivv_flush", {})
        deadline = time.time() + spec.timeout_s + 10
        while len(flushed) < total and time.time() < deadline:
            gevent.sleep(0.05)
        ended = time.time()
        runner.quit()
        return finish(env, spec, recorder, started, ended, out_dir, writer, workers=total,
                      extra={"workers_flushed": len(flushed), "generators": generators})
    finally:
        for p in procs:
            try:
                p.wait(timeout=WORKER_EXIT_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def start_remote_worker(host: LoadHost, spec: LoadSpec, token: str | None, port: int, log: Path) -> subprocess.Popen:
    """One worker on `host` over SSH; spec and token are written to the session's stdin, then it is closed."""
    with open(log, "w") as out:
        proc = subprocess.Popen(host.command(f"{host.master}:{port}"), stdin=subprocess.PIPE, stdout=out,
                                stderr=subprocess.STDOUT)
    proc.stdin.write(json.dumps({"spec": json.loads(spec.to_json()), "token": token}).encode())
    proc.stdin.close()
    return proc


def start_worker(spec_path: Path, token: str | None, master: str, log: Path) -> subprocess.Popen:
    env = dict(os.environ)
    if token:
        env[TOKEN_ENV] = token
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, "-m", "ivv.load.run", "--spec", str(spec_path),
                                 "--worker-of", master], env=env, stdout=out, stderr=subprocess.STDOUT)


def run_worker(spec: LoadSpec, token: str | None, master: str) -> None:
    host, _, port = master.rpartition(":")
    env, user = make_environment(spec, token)
    recorder = Recorder(env)
    runner = env.create_worker_runner(host, int(port))

    def on_end_at(environment, msg, **_kw) -> None:
        user.end_at = float(msg.data["end_at"])

    def on_flush(environment, msg, **_kw) -> None:
        wait_for_drain(spec.timeout_s, spec)
        send_stats = getattr(runner, "_send_stats", None)
        if send_stats is not None:
            send_stats()  # Locust's own stats of the last seconds, before the master writes its report
        runner.send_message("ivv_samples", recorder.take())

    runner.register_message("ivv_end_at", on_end_at)
    runner.register_message("ivv_flush", on_flush, concurrent=True)
    with gevent.Timeout(spec.duration_s + spec.timeout_s + 120, False):
        runner.greenlet.join()
