"""`ivv trend FOLDER`: each figure over the history of run bundles in FOLDER, plotted (SVG) in one HTML
page with the gate's threshold drawn; bundles that do not verify are left out and listed.

Exit status 0 when the page was written, 2 when the folder holds no bundle that verifies.
"""

from __future__ import annotations

import argparse

from ivv.report import trend


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("trend", help="plot each figure over the history of bundles",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="a folder of run bundles, e.g. reports/")
    parser.add_argument("--out", default=None, metavar="FILE", help="the page (default: FOLDER/trend.html)")
    parser.add_argument("--templates", default=None, metavar="DIR", help="your own report templates")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    path, view = trend.write(args.folder, args.out, args.templates)
    print(f"{len(view['runs'])} runs, {len(view['figures'])} figures"
          + (f"; left out {len(view['left_out'])}: " + ", ".join(b["bundle"] for b in view["left_out"])
             if view["left_out"] else ""))
    print(f"html: {path}")
    return 0
