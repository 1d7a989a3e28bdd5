"""The `ivv` command: one subcommand per module in `ivv.commands`.

Each command module offers `add_parser(subparsers)` and `run(args) -> int`. Exit status: 0 success or
PROCEED, 1 HOLD or a failed check, 2 the harness could not run (bad configuration, missing prerequisite).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ivv.errors import ConfigError, PrerequisiteError, TargetUnreachable

COMMANDS = ("gate", "report", "init", "device", "stack", "load", "profile", "resilience")


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
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ConfigError, PrerequisiteError) as exc:
        print(f"ivv: error: {exc}", file=sys.stderr)
        return 2
    except TargetUnreachable as exc:
        print(f"ivv: target unreachable: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ivv: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
