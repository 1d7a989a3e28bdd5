"""Subcommands of `ivv`; each module offers `add_parser(subparsers)` and sets `func` on its parser."""
