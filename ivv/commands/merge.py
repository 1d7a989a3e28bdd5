"""`ivv merge BUNDLE...`: merge bundles of different devices into one fleet bundle and report.

For a rack larger than one runner: a CI matrix of `ivv gate --target X` jobs, each on its own runner
host, and one job that merges their bundles. Every bundle is verified first (an altered one stops the
merge with `bundle altered: <what>`, exit 3); the merged bundle has its own hash chain and seal and
names each source bundle and its chain head (ivv.evidence.merge). Exit status as `ivv gate`
(ivv.evidence.verdict.ExitStatus): 0 PROCEED / WITH CONDITIONS, 1 HOLD, 2 bad input, 3 altered.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from ivv.commands.gate import report_altered
from ivv.evidence.bundle import VERDICTS, new_run_id
from ivv.evidence.merge import BundleAltered, merge
from ivv.evidence.verdict import ExitStatus
from ivv.fleet import convergence


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("merge", help="merge bundles of different devices into one fleet bundle",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("bundles", nargs="+", metavar="BUNDLE", help="run bundle folders (one per runner or device)")
    parser.add_argument("--reports", default="reports", metavar="DIR", help="where the merged bundle goes")
    parser.add_argument("--run-id", default=None, help="merged bundle name (default: UTC time + random suffix)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    out = Path(args.reports) / (args.run_id or new_run_id())
    typed = shlex.join(["ivv", *(getattr(args, "argv", None) or ["merge", *args.bundles])])
    try:
        merged = merge(args.bundles, out, command_line=typed, fleet_records=convergence.record)
    except BundleAltered as exc:
        print(f"ivv: {exc}; not merged", file=sys.stderr)
        for problem in exc.problems:
            print(f"bundle altered: {exc.bundle}: {problem}", file=sys.stderr)
        return ExitStatus.ALTERED
    verdicts = json.loads((merged / VERDICTS).read_text(encoding="utf-8"))
    print(f"decision: {verdicts['decision']} - {verdicts['reason']}")
    print(f"devices: {', '.join(verdicts.get('targets') or [])}")
    print(f"report: {merged / 'gate-review.html'}")
    print(f"report: {merged / 'gate-review.md'}")
    report_altered(verdicts)
    return ExitStatus.for_verdicts(verdicts)
