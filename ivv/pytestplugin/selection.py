"""Which tests of the gate's criteria this run left out, so a criterion is never decided on a subset.

A test of a criterion that was deselected (`-k`, `-m`, `--deselect`), not collected (compared with a
collect-only pass of the same suites that `ivv gate` runs first when given extra pytest arguments:
`--ivv-collect-to FILE` writes it, `--ivv-expect FILE` reads it), or collected but never run (the
session stopped early) leaves a gap for each of its criteria: the criterion is NOT VERIFIED ("its test X
was deselected"), and the manifest's `selection.deselected` lists it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DESELECTED, NOT_COLLECTED = "deselected", "not collected"


def criteria_of(item: pytest.Item) -> list[str]:
    ids: list[str] = []
    for marker in item.iter_markers("criterion"):
        ids.extend(a for a in marker.args if a not in ids)
    return ids


def suite_of(nodeid: str) -> str | None:
    parts = Path(nodeid.split("::")[0]).parts
    return parts[1] if len(parts) > 2 and parts[0] == "suites" else None


def target_param(item: pytest.Item) -> str | None:
    """The target a test is parametrised over (`[vdevice]`), before its fixtures run; None if none."""
    target = getattr(getattr(item, "callspec", None), "params", {}).get("target")
    return target if isinstance(target, str) else None


def write_collected(path: str | Path, items, rootdir: Path) -> None:
    """The collect-only pass: every collected test of a criterion, with its criteria and target, and the
    rootdir its node ids are relative to (the gate run uses the same)."""
    found = {item.nodeid: {"criteria": criteria_of(item), "target": target_param(item)}
             for item in items if criteria_of(item)}
    Path(path).write_text(json.dumps({"rootdir": str(rootdir), "tests": found}, indent=1, sort_keys=True),
                          encoding="utf-8")


class Selection:
    """Left-out tests of criteria, collected during the session and recorded once a bundle exists."""

    def __init__(self) -> None:
        self.left_out: dict[str, dict] = {}   # node id -> {"test", "criteria", "why", "target"}
        self.recorded: set[str] = set()

    def deselect(self, items) -> None:
        for item in items:
            if criteria_of(item):
                self.left_out.setdefault(item.nodeid, {"test": item.nodeid, "criteria": criteria_of(item),
                                                       "why": DESELECTED, "target": target_param(item)})

    def compare(self, expected_file: str | Path, items, asked=lambda criteria: True) -> None:
        """Tests the collect-only pass found that this run neither collected nor deselected (of those the
        loaded gates ask for: `asked(criteria)`)."""
        expected = json.loads(Path(expected_file).read_text(encoding="utf-8"))["tests"]
        collected = {item.nodeid for item in items}
        for nodeid, info in sorted(expected.items()):
            if nodeid not in collected and nodeid not in self.left_out and asked(info["criteria"]):
                self.left_out[nodeid] = {"test": nodeid, "criteria": list(info["criteria"]), "why": NOT_COLLECTED,
                                         "target": info.get("target")}

    def record(self, bundle) -> None:
        """A gap per criterion of each left-out test (chained evidence), and the list in the manifest."""
        fresh = [e for nodeid, e in sorted(self.left_out.items()) if nodeid not in self.recorded]
        if not fresh:
            return
        for entry in fresh:
            recorder = bundle.recorder(test=entry["test"], suite=suite_of(entry["test"]), target_name=entry["target"])
            for cid in entry["criteria"]:
                recorder.gap(cid, f"its test {entry['test']} was {entry['why']} in this run",
                             details={"deselected": entry["test"], "why": entry["why"]})
            self.recorded.add(entry["test"])
        bundle.deselected([{k: e[k] for k in ("test", "criteria", "why")} for e in fresh])


def not_run(bundle, items, ran: set[str], cause: str) -> None:
    """A gap per criterion of each collected test that never ran (the session stopped before it)."""
    for item in items:
        criteria = criteria_of(item)
        if not criteria or item.nodeid in ran:
            continue
        recorder = bundle.recorder(test=item.nodeid, suite=suite_of(item.nodeid), target_name=target_param(item))
        for cid in criteria:
            recorder.gap(cid, f"its test {item.nodeid} did not run ({cause})", details={"not_run": item.nodeid})
