"""Every criterion of a shipped gate is decided by a test inside the suite folder the gate names for it,
so `ivv gate --suites X` runs every check of the criteria it claims (collected for real: the markers are
read from pytest's own items, not from the source text)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ivv.config.gates import load_gate

ROOT = Path(__file__).resolve().parent.parent
GATES = sorted((ROOT / "deployment" / "gates").glob("*.yaml"))

COLLECTOR = '''
import json, os

def pytest_collection_modifyitems(session, config, items):
    out = {}
    for item in items:
        suite = os.path.relpath(str(item.path), os.environ["IVV_SUITES_ROOT"]).split(os.sep)[0]
        for mark in item.iter_markers("criterion"):
            for criterion in mark.args:
                out.setdefault(criterion, set()).add(suite)
    with open(os.environ["IVV_CRITERIA_OUT"], "w") as f:
        json.dump({c: sorted(s) for c, s in out.items()}, f)
'''


# Gates of the REST reference stack, with its profile (the checks only HTTP offers are collected for it).
OTHER_STACKS = {"capture-service": ROOT / "deployment" / "stacks" / "capture-service" / "profile.yaml"}


def gate_groups() -> list[tuple[list[Path], list[str]]]:
    """The shipped gates in groups loadable in one run (criterion ids unique within a run), each with its
    profile arguments: the camera service's gates together, each other stack's gate with its profile."""
    own = [g for g in GATES if g.stem in OTHER_STACKS]
    return [([g for g in GATES if g not in own], []),
            *[([g], ["--ivv-profile", str(OTHER_STACKS[g.stem])]) for g in own]]


def decided_by(tmp_path: Path) -> dict[str, list[str]]:
    """criterion -> the suite folders holding a test marked with it (every shipped gate loaded, group by
    group, so suites collected only for their gate, like fleet, are collected too)."""
    (tmp_path / "ivv_criteria_collector.py").write_text(COLLECTOR)
    merged: dict[str, set[str]] = {}
    for n, (group, profile) in enumerate(gate_groups()):
        out = tmp_path / f"criteria-{n}.json"
        env = {"PYTHONPATH": str(tmp_path), "IVV_SUITES_ROOT": str(ROOT / "suites"), "IVV_CRITERIA_OUT": str(out),
               "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
        done = subprocess.run([sys.executable, "-m", "pytest", "suites", "--collect-only", "-q", "-p",
                               "no:cacheprovider", "-p", "ivv_criteria_collector", "--ivv-reports",
                               str(tmp_path / "reports"), *profile,
                               *(arg for gate in group for arg in ("--ivv-gate", str(gate)))],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert out.exists(), done.stdout[-2000:] + done.stderr[-2000:]
        for criterion, suites in json.loads(out.read_text()).items():
            merged.setdefault(criterion, set()).update(suites)
    return {c: sorted(s) for c, s in merged.items()}


def test_every_gate_criterion_is_decided_in_the_suite_the_gate_names(tmp_path):
    decided = decided_by(tmp_path)
    wrong = []
    for path in GATES:
        for criterion in load_gate(path).criteria:
            where = decided.get(criterion.id, [])
            if criterion.suite not in where:
                wrong.append(f"{path.name}: {criterion.id} has suite {criterion.suite!r}, decided in {where or 'no suite'}")
    assert GATES and not wrong, "\n".join(wrong)


def test_a_suite_whose_gate_is_left_out_is_not_run(tmp_path):
    """`ivv gate --gate cdr-deployment` runs the tests of that gate's criteria only: the resilience and
    performance suites (other gates) record nothing, so they cannot fail for want of their settings."""
    done = subprocess.run([sys.executable, "-m", "pytest", "suites", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "--ivv-reports", str(tmp_path / "reports"), "--ivv-gate", "cdr-deployment"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin",
                                                                                     "HOME": str(tmp_path)})
    collected = [line for line in done.stdout.splitlines() if "::" in line]
    suites = {line.split("/")[1] for line in collected}
    assert suites == {"deployment", "documentation", "health", "rollback"}, done.stdout[-2000:] + done.stderr[-2000:]
