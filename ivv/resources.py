"""Where ivv's shipped files live: gates, contracts, inventories, reference stacks, the virtual device's
recipe, report templates, suites and fixtures.

The repository keeps them at its top level (`deployment/`, `templates/`, `suites/`, `fixtures/`); the
wheel maps the same folders under the `ivv` package (`ivv/deployment`, ...), so an installed ivv finds
them without a checkout or a particular working directory. This is the one place that knows both.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
SHIPPED = ("deployment", "templates", "suites", "fixtures")


def shipped(name: str) -> Path:
    """The folder of shipped files `name` (one of SHIPPED): inside the installed package, else the checkout's."""
    if name not in SHIPPED:
        raise ValueError(f"{name!r} is not a shipped folder (known: {', '.join(SHIPPED)})")
    for candidate in (PACKAGE / name, PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"ivv's {name}/ folder is missing from {PACKAGE} and {PACKAGE.parent}: "
                            "reinstall ivv (pip install of its checkout or wheel) or run from its checkout")


def deployment(*parts: str) -> Path:
    """A path under the shipped deployment folder (gates, contracts, inventory, stacks, vdevice)."""
    return shipped("deployment").joinpath(*parts)


def checkout() -> Path | None:
    """The repository this ivv runs from, or None for an installed ivv."""
    root = PACKAGE.parent
    return root if (root / "pyproject.toml").is_file() and (root / "suites").is_dir() else None
