"""`ivv stack build | run-local`: build a stack's release archives, or run it as local processes.

`build` writes byte-reproducible archives (same inputs -> same sha256) with an offline wheelhouse and
prints one `sha256  path` line per archive. `run-local` starts the stack on free loopback ports (fault
knobs with --fault NAME=VALUE), prints its endpoints, and runs until interrupted or --seconds pass.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from ivv.config import profile as profile_mod
from ivv.errors import ConfigError
from ivv.stack.local import start_local
from ivv.stack.release import build_releases


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("stack", help="build or run the reference stack",
                                   description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="stack_command", required=True)
    build = sub.add_parser("build", help="build release archives with an offline wheelhouse")
    build.add_argument("--profile", default=None, metavar="FILE", help="stack profile (default: reference stack)")
    build.add_argument("--version", action="append", default=[], metavar="V",
                       help="release to build (repeatable; default: every releases/*.yaml)")
    build.add_argument("--out", default=None, metavar="DIR", help="output folder (default: the profile's archive folder)")
    build.set_defaults(func=run_build)
    local = sub.add_parser("run-local", help="run the stack as local processes on loopback")
    local.add_argument("--profile", default=None, metavar="FILE")
    local.add_argument("--fault", action="append", default=[], metavar="NAME=VALUE", help="fault knob (repeatable)")
    local.add_argument("--workdir", default=None, metavar="DIR", help="state folder (default: a new temporary one)")
    local.add_argument("--seconds", type=float, default=None, help="stop after this long (default: until Ctrl-C)")
    local.set_defaults(func=run_local)
    return parser


def parse_faults(items: list[str]) -> dict[str, str]:
    faults = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ConfigError(f"--fault {item!r}: expected NAME=VALUE (e.g. slow_ms=200)")
        faults[name.strip()] = value.strip()
    return faults


def run_build(args) -> int:
    profile = profile_mod.load(args.profile)
    for built in build_releases(profile, args.version or None, Path(args.out) if args.out else None):
        print(f"{built.sha256}  {built.path}  ({built.size} bytes, {built.version})")
    return 0


def run_local(args) -> int:
    profile = profile_mod.load(args.profile)
    faults = parse_faults(args.fault)
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix=f"ivv-{profile.name}-"))
    with start_local(profile, workdir, faults) as running:
        print(f"rpc     {running.rpc_url}")
        for name in profile.health["endpoints"]:
            print(f"health  {running.health_url(name)}")
        print(f"media   http://127.0.0.1:{running.media_port}/stream")
        print(f"state   {workdir} (logs in {running.log_file.parent}; credentials stay in the process)")
        if faults:
            print(f"faults  {', '.join(f'{k}={v}' for k, v in faults.items())}")
        sys.stdout.flush()
        deadline = time.monotonic() + args.seconds if args.seconds else None
        try:
            while deadline is None or time.monotonic() < deadline:
                if not running.service.running:
                    print(f"service exited with {running.service.proc.returncode}", file=sys.stderr)
                    return 1
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    return 0
