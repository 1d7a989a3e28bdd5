"""The `ivv` command: one subcommand per module in `ivv.commands`.

Each command module offers `add_parser(subparsers)` and `run(args) -> int`. Exit statuses are the table
in `ivv.evidence.verdict.ExitStatus`: 0 success or PROCEED, 1 HOLD or a failed check, 2 the harness could
not run (bad configuration, missing prerequisite), 3 a bundle was altered after its run.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ivv.errors import ConfigError, PrerequisiteError, TargetUnreachable
from ivv.evidence.verdict import ExitStatus

COMMANDS = ("gate", "report", "merge", "compare", "trend", "plan", "init", "device", "stack", "load", "profile",
            "resilience")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ivv", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"ivv.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"ivv.commands.{name}":
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # what was typed, recorded by `ivv gate` as the run's selection
    try:
        return int(args.func(args) or 0)
    except (ConfigError, PrerequisiteError) as exc:
        print(f"ivv: error: {exc}", file=sys.stderr)
        return ExitStatus.COULD_NOT_RUN
    except TargetUnreachable as exc:
        print(f"ivv: target unreachable: {exc}", file=sys.stderr)
        return ExitStatus.COULD_NOT_RUN
    except KeyboardInterrupt:
        print("ivv: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
