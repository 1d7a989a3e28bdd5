"""`make gate` passes ARGS to `ivv gate`, and since GNU make can only exit 0 or 2, its last line says the
decision and ivv's own exit status, which the bundle keeps too (`exit-status`); `ivv gate` itself exits
1 for HOLD and 2 for a broken gate file."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tests" / "demo"
pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path):
    (tmp_path / "suites" / "demo").mkdir(parents=True)
    shutil.copyfile(DEMO / "demo_suite.py", tmp_path / "suites" / "demo" / "test_demo.py")
    # `make gate` runs `$(TOX) -e gate -- ARGS`; this stand-in runs what tox's gate env would: ivv gate ARGS
    tox = tmp_path / "tox"
    tox.write_text(f"#!/bin/sh\nshift 3\ncd {tmp_path}\nexec {sys.executable} -m ivv.cli gate \"$@\"\n")
    tox.chmod(0o755)
    return tmp_path


def test_ivv_gate_exits_1_on_hold_and_2_on_a_broken_gate(project):
    args = [sys.executable, "-m", "ivv.cli", "gate", "--suites-dir", "suites", "--reports", "out"]
    hold = subprocess.run([*args, "--gate", str(DEMO / "demo-gate-strict.yaml"), "--run-id", "hold"], cwd=project,
                          capture_output=True, text=True, timeout=180)
    assert hold.returncode == 1, hold.stdout + hold.stderr
    assert hold.stdout.strip().splitlines()[-1] == "ivv gate: HOLD, exit status 1 (hold)"
    assert (project / "out" / "hold" / "exit-status").read_text() == "1 HOLD\n"
    broken = subprocess.run([*args, "--gate", str(DEMO / "broken" / "gate-missing-field.yaml")], cwd=project,
                            capture_output=True, text=True, timeout=60)
    assert broken.returncode == 2 and "'requirement' is missing" in broken.stderr


def test_make_gate_takes_args_and_ends_with_ivvs_own_status(project):
    """One stack (`STACKS=camera-service`; make gate gates both reference stacks by default, a line each)."""
    reports = project / "out"
    done = subprocess.run(["make", "-s", "-C", str(ROOT), "gate", f"TOX={project / 'tox'}", f"REPORTS={reports}",
                           "STACKS=camera-service",
                           f"ARGS=--suites-dir {project / 'suites'} --gate {DEMO / 'demo-gate-strict.yaml'}"],
                          capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert done.returncode == 2, done.stdout + done.stderr        # GNU make: any failure is 2
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("make gate: camera-service: HOLD, ivv exit status 1, bundle "), last
    bundle = Path(last.rsplit("bundle ", 1)[1])
    assert (bundle / "exit-status").read_text() == "1 HOLD\n" and (bundle / "gate-review.md").is_file()


def test_make_gate_refuses_a_stack_it_does_not_ship(project):
    done = subprocess.run(["make", "-s", "-C", str(ROOT), "gate", f"TOX={project / 'tox'}", "STACKS=no-such-stack"],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert done.returncode == 2 and "unknown stack no-such-stack" in done.stderr, done.stdout + done.stderr
