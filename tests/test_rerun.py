"""`ivv gate --rerun-not-verified BUNDLE` runs only the tests behind that bundle's NOT VERIFIED
criteria, and the new bundle names the old one; what it did not run stays NOT VERIFIED, never PASS."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tests" / "demo"
pytestmark = pytest.mark.slow


def test_rerun_runs_only_what_was_not_verified(tmp_path):
    (tmp_path / "suites" / "demo").mkdir(parents=True)
    shutil.copyfile(DEMO / "demo_suite.py", tmp_path / "suites" / "demo" / "test_demo.py")
    base = [sys.executable, "-m", "ivv.cli", "gate", "--suites-dir", "suites", "--gate", str(DEMO / "demo-gate.yaml"),
            "--reports", "out"]
    first = subprocess.run([*base, "--run-id", "first"], cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert first.returncode == 0, first.stdout + first.stderr
    again = subprocess.run([*base, "--run-id", "again", "--rerun-not-verified", "out/first"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=180)
    bundle = tmp_path / "out" / "again"
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["rerun_of"]["run_id"] == "first", again.stdout + again.stderr
    # demo.redaction is in no loaded gate, so its test runs in neither run
    assert set(manifest["rerun_of"]["criteria"]) == {"demo.skipped", "demo.untested"}
    tests = [json.loads(line) for line in (bundle / "evidence.jsonl").read_text().splitlines()]
    ran = {r["test"].split("::")[-1] for r in tests if r["kind"] == "test" and r["value"] != "started"}
    assert ran == {"test_skipped"}, ran
    criteria = json.loads((bundle / "verdicts.json").read_text())["criteria"]
    assert criteria["demo.latency"]["verdict"] == "NOT VERIFIED" and "deselected" in criteria["demo.latency"]["reason"]


def test_rerun_of_a_bundle_with_nothing_unverified_is_refused(tmp_path):
    bundle = tmp_path / "done"
    bundle.mkdir()
    (bundle / "verdicts.json").write_text(json.dumps({"criteria": {"a": {"verdict": "PASS"}}}))
    done = subprocess.run([sys.executable, "-m", "ivv.cli", "gate", "--rerun-not-verified", str(bundle)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "no criterion is NOT VERIFIED" in done.stderr
