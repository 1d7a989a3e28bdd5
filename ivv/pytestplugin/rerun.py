"""Run again only what was not verified: `--ivv-criteria ID,...` keeps the tests that decide those
criteria (every other test is deselected, so its criteria stay NOT VERIFIED in this run, with the reason),
and `--ivv-rerun-of BUNDLE` names the earlier bundle in the new one's manifest. `ivv gate
--rerun-not-verified BUNDLE` sets both from that bundle's verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ivv.evidence.bundle import VERDICTS, current
from ivv.evidence.verdict import Verdict


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ivv")
    group.addoption("--ivv-criteria", action="append", default=[], metavar="IDS",
                    help="run only the tests deciding these criteria (comma-separated, repeatable)")
    group.addoption("--ivv-rerun-of", default=None, metavar="BUNDLE", help="the bundle this run re-runs a part of")


def not_verified(bundle: str | Path) -> list[str]:
    """The criteria an earlier bundle left NOT VERIFIED (waived ones included: their evidence is missing)."""
    verdicts = json.loads((Path(bundle) / VERDICTS).read_text(encoding="utf-8"))
    return [cid for cid, entry in verdicts["criteria"].items()
            if entry["verdict"] == Verdict.NOT_VERIFIED or entry.get("underlying") == Verdict.NOT_VERIFIED]


def _wanted(config: pytest.Config) -> set[str]:
    return {c.strip() for value in config.getoption("ivv_criteria") or () for c in value.split(",") if c.strip()}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = _wanted(config)
    if not wanted:
        return
    keep, drop = [], []
    for item in items:
        marked = {c for m in item.iter_markers("criterion") for c in m.args}
        (keep if marked & wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    earlier = session.config.getoption("ivv_rerun_of")
    bundle = current()
    if earlier and bundle is not None:
        path = Path(earlier).resolve()
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        bundle.set_manifest("rerun_of", {"run_id": manifest.get("run_id"), "path": str(path),
                                         "criteria": sorted(_wanted(session.config)),
                                         "seal": (manifest.get("seal") or {}).get("head")})
