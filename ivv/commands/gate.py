"""`ivv gate`: run the suites against a target with the given gates, print the decision and the report.

A thin wrapper around pytest in a subprocess (a fresh interpreter per run, so plugin state and imported
suites never leak between runs). With extra pytest arguments (after `--`), a collect-only pass of the
same suites without them runs first, so every test of a criterion they leave out is recorded and its
criterion stays NOT VERIFIED. The command line is recorded in the bundle (`selection.command`).
Over an inventory with several devices it runs them all at once, one process per device, and merges
their bundles into one fleet bundle (ivv.fleet.runner); every device gets a pre-run health check first
(ivv.fleet.preflight; `--no-preflight` to skip it).
Exit status (ivv.evidence.verdict.ExitStatus): 0 PROCEED / PROCEED WITH CONDITIONS, 1 HOLD, 2 the harness
could not run (bad gate, waiver or option; pytest usage error; no verdicts written), 3 the bundle was altered.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from ivv import resources
from ivv.commands import endpoint
from ivv.config.gates import SHIPPED, TREND_SUITE, GateSet
from ivv.config.inventory import load_inventory
from ivv.config.waivers import load_waivers
from ivv.errors import ConfigError, GateError
from ivv.evidence.bundle import VERDICTS, new_run_id
from ivv.evidence.verdict import ExitStatus


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("gate", help="run the suites and decide the gates",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("--gate", action="append", default=[], metavar="GATE",
                        help=f"gate file or name (repeatable; default: {', '.join(SHIPPED)})")
    parser.add_argument("--waivers", action="append", default=[], metavar="FILE", help="waiver file (repeatable)")
    parser.add_argument("--suites", default=None, metavar="NAMES",
                        help="comma-separated subset of suites/ (default: every suite)")
    parser.add_argument("--suites-dir", default=None, metavar="DIR",
                        help="folder holding one sub-folder per suite (default: the suites shipped with ivv)")
    parser.add_argument("--inventory", default=None, metavar="FILE", help="inventory YAML")
    parser.add_argument("--target", action="append", default=[], metavar="NAME", help="inventory target (repeatable)")
    parser.add_argument("--profile", default=None, metavar="FILE", help="stack profile YAML")
    parser.add_argument("--reports", default="reports", metavar="DIR", help="where the bundle goes")
    parser.add_argument("--run-id", default=None, help="bundle name (default: UTC time + random suffix)")
    parser.add_argument("--templates", default=None, metavar="DIR", help="your own report templates")
    parser.add_argument("--secret", action="append", default=[], metavar="VALUE", help="value to redact (repeatable)")
    parser.add_argument("--rerun-not-verified", default=None, metavar="BUNDLE",
                        help="run only the tests behind BUNDLE's NOT VERIFIED criteria; the new bundle names it")
    parser.add_argument("--lease-wait", type=float, default=None, metavar="S",
                        help="wait this long for a shared device another run holds, then give up (exit 2)")
    fleet = parser.add_argument_group("fleets and history")
    fleet.add_argument("--max-parallel", type=int, default=None, metavar="N",
                       help="with several devices: run at most N of them at once (default: all)")
    fleet.add_argument("--no-preflight", action="store_true",
                       help="skip the pre-run health check of each device (reachable, disk, clock, camera, lease)")
    fleet.add_argument("--baseline", default=None, metavar="RUN_OR_DIR",
                       help="judge the gate's `regression:` limits (criteria trend.*) against this bundle, or the "
                            "newest earlier bundle in this folder")
    endpoint.add_gate_options(parser)
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after `--`: extra pytest arguments")
    parser.set_defaults(func=run)
    return parser


def suite_folders(root: Path) -> list[str]:
    """The suite names under `root`: its folders, less private ones (`_x`, `.x`)."""
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))) \
        if root.is_dir() else []


def suite_paths(selection: str | None, root: Path | None = None) -> list[str]:
    """The suite folders to run; an unknown suite name is a configuration error."""
    root = root or resources.shipped("suites")
    if not root.is_dir():
        raise ConfigError(f"--suites-dir {root}: no such folder")
    available = suite_folders(root)
    if not selection:
        return [str(root / name) for name in available]
    chosen = [name.strip() for name in selection.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in available]
    if unknown:
        raise ConfigError(f"--suites: unknown suite(s) {', '.join(unknown)}; expected some of {', '.join(available)}")
    return [str(root / name) for name in chosen]


def _extra(pytest_args) -> list[str]:
    extra = list(pytest_args or [])
    return extra[1:] if extra[:1] == ["--"] else extra


# Extra pytest options that change how tests are found, not which are chosen: the collect-only pass
# keeps them (a plugin may register a target kind the inventory names, or parametrise tests).
COLLECTION_OPTIONS = ("-p", "-c", "-o", "--override-ini", "--rootdir", "--confcutdir", "--import-mode")


def collection_options(user: list[str]) -> list[str]:
    """The user's extra arguments that the collect-only pass needs too (`-p opsrun`, `-o key=value`)."""
    out, index = [], 0
    while index < len(user):
        arg = user[index]
        name = arg.split("=", 1)[0]
        if name in COLLECTION_OPTIONS and "=" not in arg and index + 1 < len(user):
            out += [arg, user[index + 1]]
            index += 2
            continue
        if name in COLLECTION_OPTIONS or (arg.startswith("-p") and len(arg) > 2 and not arg.startswith("--")):
            out.append(arg)
        index += 1
    return out


def pytest_commands(args: argparse.Namespace, run_id: str, command_line: str | None = None) -> tuple[list, list]:
    """(the pytest arguments of the gate run, the user's extra arguments after `--`). `command_line` is
    what the user typed, recorded in the bundle."""
    user = _extra(args.pytest_args)
    args = endpoint.prepare_gate(args, run_id)
    extra = _extra(args.pytest_args)
    out = suite_paths(args.suites, Path(args.suites_dir) if args.suites_dir else None)
    for gate in args.gate or SHIPPED:
        out += ["--ivv-gate", gate]
    for waiver in args.waivers:
        out += ["--ivv-waivers", waiver]
    out += ["--ivv-reports", args.reports, "--ivv-run-id", run_id]
    if args.templates:
        out += ["--ivv-templates", args.templates]
    if args.inventory:
        out += ["--ivv-inventory", args.inventory]
    for target in args.target:
        out += ["--ivv-target", target]
    if args.profile:
        out += ["--ivv-profile", args.profile]
    for secret in args.secret:
        out += ["--ivv-secret", secret]
    if getattr(args, "rerun_not_verified", None):
        from ivv.pytestplugin.rerun import not_verified

        criteria = not_verified(args.rerun_not_verified)
        if not criteria:
            raise ConfigError(f"--rerun-not-verified {args.rerun_not_verified}: no criterion is NOT VERIFIED there")
        out += ["--ivv-criteria", ",".join(criteria), "--ivv-rerun-of", args.rerun_not_verified]
    if getattr(args, "lease_wait", None) is not None:
        out += ["--ivv-lease-wait", str(args.lease_wait)]
    if not getattr(args, "no_preflight", False):
        out += ["--ivv-preflight"]
    if getattr(args, "baseline", None):
        out += ["--ivv-baseline", args.baseline]
    if command_line:
        out += ["--ivv-command", command_line]
    return out + extra[:len(extra) - len(user)], user     # the harness's own extras (endpoint plugin) first


def pytest_args(args: argparse.Namespace, run_id: str) -> list[str]:
    """The pytest command line for this gate run."""
    base, user = pytest_commands(args, run_id)
    return base + user


def collect(base: list[str], user: list[str], folder: Path) -> list[str]:
    """The collect-only pass: the run's own arguments without the user's extra ones (but with the
    options that change how tests are found). Returns what the gate run needs to compare with it: the
    same rootdir (so node ids match) and the file of expected tests. A suite that does not even collect
    means the gate cannot run."""
    expected = folder / "collected.json"
    command = [sys.executable, "-m", "pytest", *base, *collection_options(user), "--collect-only", "-q",
               "--ivv-collect-to", str(expected)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode not in (0, 5) or not expected.exists():  # 5: nothing collected
        tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
        raise ConfigError(f"collecting the suites failed (pytest exit status {result.returncode}): "
                          + " / ".join(tail))
    rootdir = json.loads(expected.read_text(encoding="utf-8"))["rootdir"]
    return ["--rootdir", rootdir, "--ivv-expect", str(expected)]


def validate_inputs(args: argparse.Namespace) -> GateSet:
    """Load gates and waivers before starting pytest, so a bad file exits 2 with a clear message."""
    gates = GateSet.load(args.gate or SHIPPED)
    check_suites(gates, Path(args.suites_dir) if getattr(args, "suites_dir", None) else None)
    known = {c.id for c in gates.criteria}
    for waiver_file in args.waivers:
        load_waivers(waiver_file, known)
    return gates


def check_suites(gates: GateSet, suites_dir: Path | None) -> None:
    """Every criterion names a suite folder this run has (ivv's, or --suites-dir's): a typo is an error
    naming the gate file, not a criterion left NOT VERIFIED for want of a test. Regression limits (trend.*)
    are judged by ivv against the baseline, so they need no folder."""
    roots = [resources.shipped("suites"), *([suites_dir] if suites_dir else [])]
    folders = {name for root in roots for name in suite_folders(root)}
    for gate in gates.gates:
        for criterion in gate.criteria:
            if criterion.suite not in folders and criterion.suite != TREND_SUITE:
                raise GateError(f"{gate.path}: criterion {criterion.id}: suite {criterion.suite!r} is no suite "
                                f"folder of {' or '.join(map(str, roots))} (known: {', '.join(sorted(folders))})")


def run_pytest(command: list[str], grace_s: float = 120.0) -> int:
    """Run pytest; on Ctrl-C let it finish writing the bundle (it got the SIGINT too), on a second one stop it."""
    proc = subprocess.Popen(command)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        print("ivv: interrupted; letting pytest write the report (Ctrl-C again to stop at once)", file=sys.stderr)
        try:
            return proc.wait(timeout=grace_s)
        except (KeyboardInterrupt, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
            raise KeyboardInterrupt from None


def fleet_targets(args: argparse.Namespace) -> list[str]:
    """The devices of this run when there are several (a fleet run), else []."""
    if getattr(args, "endpoint", None):
        return []
    targets = load_inventory(args.inventory).select(args.target)
    if getattr(args, "max_parallel", None) is not None and args.max_parallel < 1:
        raise ConfigError(f"--max-parallel {args.max_parallel}: expected 1 or more devices at once")
    return targets if len(targets) > 1 else []


def run(args: argparse.Namespace) -> int:
    gates = validate_inputs(args)
    run_id = args.run_id or new_run_id()
    typed = shlex.join(["ivv", *(getattr(args, "argv", None) or ["gate"])])
    fleet = fleet_targets(args)
    if fleet:
        from ivv.fleet.runner import FleetRun

        return conclude(FleetRun(args, fleet, run_id, typed, gates).run(), None)
    base, user = pytest_commands(args, run_id, typed)
    with tempfile.TemporaryDirectory(prefix="ivv-collect-") as folder:
        compare = collect(base, user, Path(folder)) if user else []
        returncode = run_pytest([sys.executable, "-m", "pytest", *base, *compare, *user])
    return conclude(Path(args.reports) / run_id, returncode)


def conclude(bundle: Path, returncode: int | None) -> int:
    """Print the decision and the report paths of a gate run's bundle; the exit status."""
    verdicts_file = bundle / VERDICTS
    if returncode in (3, 4) or not verdicts_file.exists():
        print(f"ivv: the harness could not run (pytest exit status {returncode}); "
              f"no verdicts in {bundle}", file=sys.stderr)
        return finish(bundle, ExitStatus.COULD_NOT_RUN, "no decision")
    verdicts = json.loads(verdicts_file.read_text(encoding="utf-8"))
    print(f"decision: {verdicts['decision']} - {verdicts['reason']}")
    print(f"report: {bundle / 'gate-review.html'}")
    print(f"report: {bundle / 'gate-review.md'}")
    for problem in verdicts.get("harness_errors") or ():
        print(f"ivv: the harness could not run a test: {problem}", file=sys.stderr)
    report_altered(verdicts)
    return finish(bundle, ExitStatus.for_verdicts(verdicts), verdicts["decision"])


STATUS_FILE = "exit-status"


def finish(bundle: Path, status: ExitStatus, decision: str) -> int:
    """Say the decision and ivv's own exit status as the last line, and leave the status in the bundle
    (`exit-status`: "<status> <decision>"), so a wrapper that can only exit 0 or 2 (GNU make) loses
    nothing."""
    line = f"ivv gate: {decision}, exit status {int(status)} ({status.name.lower().replace('_', ' ')})"
    if bundle.is_dir():
        (bundle / STATUS_FILE).write_text(f"{int(status)} {decision}\n", encoding="utf-8")
    print(line, flush=True)
    return int(status)


def report_altered(verdicts: dict) -> None:
    """`bundle altered: <what>` for each integrity problem of an altered bundle."""
    integrity = verdicts.get("integrity") or {}
    if integrity.get("status") == "altered":
        for problem in integrity.get("problems") or ():
            print(f"bundle altered: {problem}", file=sys.stderr)
