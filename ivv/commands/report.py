"""`ivv report BUNDLE`: verify a bundle, then render verdicts.json, gate-review.md and gate-review.html
again from it alone.

Works on a bundle whose run was killed: everything in evidence.jsonl is rendered, and the report says the
run did not finish. A bundle changed after its run (hash chain, seal, gate or waiver copies, artifacts,
re-derived verdicts) is still rendered, says so at the top, prints `bundle altered: <what>` and exits 3.
Otherwise exit status 0 when rendered (with --check: 0 PROCEED/WITH CONDITIONS, 1 HOLD, 2 when the
harness could not run some test); the table is ivv.evidence.verdict.ExitStatus.
"""

from __future__ import annotations

import argparse

from ivv.commands.gate import report_altered
from ivv.evidence.verdict import ExitStatus
from ivv.report.render import render_bundle, write_pdf


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("report", help="verify a bundle and render its gate-review report",
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
    print(f"integrity: {verdicts['integrity']['status']}")
    for kind, path in sorted(paths.items()):
        print(f"{kind}: {path}")
    report_altered(verdicts)
    return ExitStatus.for_verdicts(verdicts, decision_counts=args.check)
