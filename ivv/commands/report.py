"""`ivv report BUNDLE`: render verdicts.json, gate-review.md and gate-review.html again from a bundle alone.

Works on a bundle whose run was killed: everything in evidence.jsonl is rendered, and the report says the
run did not finish. Exit status 0 when rendered (with --check: 0 PROCEED/WITH CONDITIONS, 1 HOLD,
2 when the harness could not run some test).
"""

from __future__ import annotations

import argparse

from ivv.evidence.verdicts import exit_status
from ivv.report.render import render_bundle, write_pdf


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("report", help="render the gate-review report from a bundle",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("bundle", help="a run bundle folder, e.g. reports/latest")
    parser.add_argument("--templates", default=None, metavar="DIR", help="your own report templates")
    parser.add_argument("--check", action="store_true", help="exit 1 when the decision is HOLD")
    parser.add_argument("--pdf", action="store_true",
                        help="also write gate-review.pdf for the review pack (needs Chromium)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    verdicts, paths = render_bundle(args.bundle, templates=args.templates)
    if args.pdf and "pdf" not in paths:
        paths["pdf"] = write_pdf(args.bundle)
    print(f"decision: {verdicts['decision']} - {verdicts['reason']}")
    for kind, path in sorted(paths.items()):
        print(f"{kind}: {path}")
    return exit_status(verdicts) if args.check else 0
