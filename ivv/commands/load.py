"""`ivv load`: one load run against a JSON-RPC WebSocket endpoint, decided by the gate's perf criteria.

    ivv load --local-stack [--workers 2]                  # the reference stack as local processes
    ivv load --local-stack --inventory lab.yaml --loadgen lg1   # plus Locust workers on host lg1, over SSH
    ivv load --url ws://127.0.0.1:8002/ws --token-env MY_TOKEN [--pid N | --unit camera-service --target T]

The load shape comes from the gate's `load` settings (options override it); with `--workers N` Locust's
own master and N worker processes on this machine generate it, with `--loadgen NAME` also the workers
of that inventory host (role loadgen, ivv.load.remote). Prints the measured performance table
and writes everything (Locust CSVs and HTML report, every request, resource samples, plots, evidence
journal) to --out. Exit status: 0 every measured criterion PASS, 1 one FAILs, 2 bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from pathlib import Path

from ivv.config.gates import GateSet
from ivv.errors import ConfigError
from ivv.load import figures
from ivv.load import suite as perf
from ivv.load.resources import ProcessSelector
from ivv.load.spec import TOKEN_ENV


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("load", help="run the gate's load against an endpoint and print the figures",
                                   description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="ws:// or wss:// JSON-RPC endpoint, or http(s):// REST base URL (tasks METHOD /path)")
    where.add_argument("--local-stack", action="store_true", help="start the profile's stack as local processes")
    parser.add_argument("--token-env", default=TOKEN_ENV, metavar="VAR",
                        help=f"environment variable holding the auth token (default {TOKEN_ENV})")
    parser.add_argument("--gate", default="production-readiness", help="gate with `load` settings and perf criteria")
    parser.add_argument("--profile", default=None, metavar="FILE", help="stack profile (with --local-stack)")
    parser.add_argument("--users", type=int)
    parser.add_argument("--spawn-rate", type=float)
    parser.add_argument("--duration", type=float, help="seconds")
    parser.add_argument("--rate", type=float, help="open model: arrival rate, calls per second")
    parser.add_argument("--closed", action="store_true", help="closed model (users x loop), ignore the arrival rate")
    parser.add_argument("--think", type=float, help="closed model: pause between a user's calls, seconds")
    parser.add_argument("--workers", type=int, default=None, help="Locust worker processes (0 = one local runner)")
    sample = parser.add_mutually_exclusive_group()
    sample.add_argument("--pid", type=int, help="sample this process's resources (on this machine or --target)")
    sample.add_argument("--pidfile")
    sample.add_argument("--unit", help="sample this systemd unit's MainPID (on --target, with sudo)")
    parser.add_argument("--target", help="inventory target where the sampled process runs (default: this machine)")
    parser.add_argument("--inventory", default=None, metavar="FILE")
    parser.add_argument("--loadgen", action="append", default=[], metavar="NAME",
                        help="an inventory host with role loadgen whose Locust workers join the run (repeatable)")
    parser.add_argument("--interval", type=float, default=1.0, help="resource sampling interval, seconds")
    parser.add_argument("--out", default=None, metavar="DIR", help="output folder (default reports/load-<time>)")
    parser.set_defaults(func=run)
    return parser


def _sampling(args) -> tuple[object | None, ProcessSelector | None]:
    if not (args.pid or args.pidfile or args.unit):
        return None, None
    selector = ProcessSelector(pid=args.pid, pidfile=args.pidfile, unit=args.unit, sudo=bool(args.unit))
    if args.target:
        from ivv.config.inventory import load_inventory

        return load_inventory(args.inventory).create(args.target), selector
    from ivv.targets.local import LocalTarget

    return LocalTarget("local"), selector


def run(args) -> int:
    gates = GateSet.load([args.gate])
    settings = dict(gates.setting("load", {}) or {})
    if args.closed:
        settings.pop("arrival_rate_per_s", None)
    overrides = {"users": args.users, "spawn_rate": args.spawn_rate, "duration_s": args.duration,
                 "arrival_rate_per_s": args.rate, "think_time_s": args.think, "workers": args.workers,
                 "sample_interval_s": args.interval}
    out = Path(args.out or f"reports/load-{time.strftime('%Y%m%dT%H%M%S')}")
    criteria = [c for c in (*figures.LOAD, *figures.MEMORY, *figures.GROWTH) if c in gates]
    if not criteria:
        raise ConfigError(f"gate {args.gate}: no perf.* criteria to decide the run")
    with contextlib.ExitStack() as held:
        if args.loadgen:
            from ivv.config.inventory import load_inventory
            from ivv.load import remote

            overrides["hosts"] = held.enter_context(remote.generators(load_inventory(args.inventory), args.loadgen))
        outcome = _load(args, settings, out, overrides)
    if not outcome.samples:
        criteria = [c for c in criteria if c not in (*figures.MEMORY, *figures.GROWTH)]
    verdicts = perf.evaluate(outcome, gates, criteria)
    figs = perf.figures_for(outcome, criteria)
    table = figures.table(figs, {c: gates.criterion(c).threshold for c in criteria})
    print(f"{figures._shape(outcome.result)}: {outcome.summary['requests']} calls")
    widths = [max(len(str(r[i])) for r in [table["columns"], *table["rows"]]) for i in range(4)]
    for row in [table["columns"], *table["rows"]]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)))
    lat = outcome.summary["latency"]
    if lat.get("count"):
        print(f"latency (HDR, ms): p50 {lat['p50_ms']:.2f}  p95 {lat['p95_ms']:.2f}  p99 {lat['p99_ms']:.2f}  "
              f"max {lat['max_ms']:.2f}")
    print(f"files: {out}")
    return 0 if all(v["verdict"] == "PASS" for v in verdicts.values()) else 1


def _load(args, settings: dict, out: Path, overrides: dict):
    """One run against the local reference stack or against --url."""
    if args.local_stack:
        from ivv.config import profile as profile_mod
        from ivv.stack.local import start_local

        profile = profile_mod.load(args.profile)
        with tempfile.TemporaryDirectory(prefix="ivv-load-stack-") as tmp:
            stack = start_local(profile, Path(tmp), wait_ready=True)
            try:
                outcome = perf.run(perf.endpoint_for(stack), settings, out, **overrides)
            finally:
                stack.stop()
    else:
        token = os.environ.get(args.token_env) or None
        if token:
            from ivv.evidence import redact

            redact.register(token)
        target, selector = _sampling(args)
        endpoint = perf.LoadEndpoint(args.url, token, target, selector)
        outcome = perf.run(endpoint, settings, out, source=f"gate {args.gate} `load` settings", **overrides)
    return outcome
