"""`ivv compare RUN --baseline RUN_OR_DIR`: per-criterion deltas of a run against a baseline run (or the
newest earlier bundle in a folder), printed and rendered as compare.md / compare.html.

A figure with a regression limit (the run's gate `regression:`, or `--limit perf.p95_ms=+20%`) is judged
by the rule of the gate's trend.* criteria (ivv.evidence.regression: a seeded bootstrap interval where raw
samples exist, beyond the gate's noise floor). Both bundles are verified first. Exit status: 0 no
regression, 1 a regression, 2 bad input, 3 a bundle was altered (`bundle altered: <what>`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ivv.errors import ConfigError
from ivv.evidence import baseline as baseline_lib
from ivv.evidence.bundle import Bundle
from ivv.evidence.integrity import ALTERED, UNCHAINED
from ivv.evidence.verdict import ExitStatus
from ivv.report import compare as view_lib


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("compare", help="per-criterion deltas of a run against a baseline run",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("run", help="the run bundle, e.g. reports/latest")
    parser.add_argument("--baseline", required=True, metavar="RUN_OR_DIR",
                        help="a bundle, or a folder of bundles (the newest other one that verifies)")
    parser.add_argument("--limit", action="append", default=[], metavar="ID=LIMIT",
                        help="a regression limit for a criterion, e.g. perf.p95_ms=+20%% (adds to the gate's)")
    parser.add_argument("--out", default=None, metavar="DIR", help="where compare.md/.html go "
                        "(default: compare-<baseline run> beside the run bundle's files)")
    parser.add_argument("--templates", default=None, metavar="DIR", help="your own report templates")
    parser.set_defaults(func=run)
    return parser


def checked(path: Path) -> Bundle | None:
    """The bundle, or None after printing what was altered."""
    bundle = Bundle.load(path)
    found = bundle.verify()
    if found.status == ALTERED:
        for problem in found.problems:
            print(f"bundle altered: {bundle.path}: {problem.text}", file=sys.stderr)
        return None
    if found.status == UNCHAINED:
        raise ConfigError(f"{bundle.path}: written before bundle format 2 (nothing to verify)")
    return bundle


def _limits(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        cid, sep, text = item.partition("=")
        if not sep or not cid.strip():
            raise ConfigError(f"--limit {item!r}: expected CRITERION=LIMIT, e.g. perf.p95_ms=+20%")
        out[cid.strip()] = text.strip()
    return out


def _print(view: dict) -> None:
    print(f"run {view['run']} against baseline {view['baseline']}")
    for r in view["rows"]:
        change = f"{r['delta_text'] or '-'} ({r['percent_text'] or '-'})"
        judged = f"; worsening {r['worsening']}" if r["worsening"] else ""
        print(f"  {r['criterion']} on {r['target']}: {r['baseline_text'] or '-'} -> {r['run_text'] or '-'} "
              f"{change}; limit {r['limit'] or '-'}{judged}: {r['status']}")
    print(f"regressions: {', '.join(view['regressions']) or 'none'}")


def run(args: argparse.Namespace) -> int:
    limits = _limits(args.limit)
    current = checked(Path(args.run))
    if current is None:
        return ExitStatus.ALTERED
    base = checked(baseline_lib.resolve(args.baseline, exclude=current.path))
    if base is None:
        return ExitStatus.ALTERED
    view = view_lib.compare(current, base, limits)
    _print(view)
    out = Path(args.out) if args.out else current.path / f"compare-{view['baseline']}"
    for kind, path in sorted(view_lib.write(view, out, args.templates).items()):
        print(f"{kind}: {path}")
    return ExitStatus.HOLD if view["regressions"] else ExitStatus.PROCEED
