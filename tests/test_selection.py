"""A criterion is never decided on a subset of its tests: deselected, not collected or never-run tests
leave it NOT VERIFIED, and the command line is recorded. Real runs of a small health-like demo suite
(tests/demo/health) under `ivv gate` and plain pytest."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tests" / "demo"
GATE = DEMO / "monitoring-gate.yaml"
READINESS = "test_monitoring.py::test_readiness_follows_dependency"


@pytest.fixture
def suites(tmp_path):
    health = tmp_path / "suites" / "health"
    health.mkdir(parents=True)
    shutil.copyfile(DEMO / "health" / "monitoring_suite.py", health / "test_monitoring.py")
    shutil.copyfile(DEMO / "health" / "restart_suite.py", health / "test_restart.py")
    return tmp_path


def ivv_gate(cwd: Path, run_id: str, *extra, env=None):
    result = subprocess.run([sys.executable, "-m", "ivv.cli", "gate", "--suites-dir", "suites", "--gate", str(GATE),
                             "--reports", "out", "--run-id", run_id, *extra], cwd=cwd, capture_output=True,
                            text=True, timeout=300, env={**os.environ, **(env or {})})
    verdicts = cwd / "out" / run_id / "verdicts.json"
    assert verdicts.exists(), result.stdout + result.stderr
    return result, json.loads(verdicts.read_text())


def test_gate_with_k_minus_a_test_leaves_ops_monitoring_not_verified(suites):
    result, verdicts = ivv_gate(suites, "k", "--", "-k", "not readiness", env={"IVV_DEMO_SLOW_RUN": "2"})
    assert result.returncode == 1, result.stdout + result.stderr
    monitoring = verdicts["criteria"]["ops.monitoring"]
    assert monitoring["verdict"] == "NOT VERIFIED"                      # the liveness test alone PASSes
    assert READINESS in monitoring["reason"] and "was deselected in this run" in monitoring["reason"]
    assert [f["kind"] for f in monitoring["findings"]] == ["deselected"]
    assert verdicts["selection"]["command"] == (f"ivv gate --suites-dir suites --gate {GATE} --reports out "
                                                "--run-id k -- -k 'not readiness'")
    assert [(d["test"].endswith(READINESS), d["criteria"], d["why"]) for d in verdicts["selection"]["deselected"]] \
        == [(True, ["ops.monitoring"], "deselected")]
    manifest = json.loads((suites / "out" / "k" / "manifest.json").read_text())
    assert manifest["selection"] == verdicts["selection"]
    # the repeated restart measurements: the slow run binds, and is an outlier among its repeats
    restart = verdicts["criteria"]["ops.restart_time"]
    assert restart["verdict"] == "PASS" and restart["repeats"]["n"] == 3
    records = [json.loads(line) for line in (suites / "out" / "k" / "evidence.jsonl").read_text().splitlines()]
    bound = next(r for r in records if r["seq"] == restart["binding"])
    assert bound["name"] == "run 2: restart to ready" and bound["threshold"]["setting"] == "health.start_to_ready_s"
    assert [f["kind"] for f in restart["findings"]] == ["outlier"] and restart["findings"][0]["records"] == [bound["seq"]]
    assert monitoring["trace"] == ["REQ-12", "CDR-4.3"]


@pytest.mark.slow
def test_gate_compares_with_a_full_collection_and_without_extras_decides_on_everything(suites):
    ignored = suites / "suites" / "health" / "test_restart.py"
    result, verdicts = ivv_gate(suites, "ignore", "--", f"--ignore={ignored}")
    restart = verdicts["criteria"]["ops.restart_time"]
    assert restart["verdict"] == "NOT VERIFIED" and "was not collected in this run" in restart["reason"], restart
    assert verdicts["criteria"]["ops.monitoring"]["verdict"] == "PASS" and result.returncode == 1
    result, verdicts = ivv_gate(suites, "all")
    assert result.returncode == 0 and verdicts["decision"] == "PROCEED", result.stdout + result.stderr
    assert verdicts["selection"]["deselected"] == []


def run_pytest(cwd: Path, run_id: str, *extra):
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "suites", "--ivv-gate",
                             str(GATE), "--ivv-reports", "out", "--ivv-run-id", run_id, *extra], cwd=cwd,
                            capture_output=True, text=True, timeout=300)
    return result, json.loads((cwd / "out" / run_id / "verdicts.json").read_text())


def test_plain_pytest_records_deselected_and_never_run_tests(suites):
    result, verdicts = run_pytest(suites, "pk", "-k", "not readiness")
    assert verdicts["criteria"]["ops.monitoring"]["verdict"] == "NOT VERIFIED", result.stdout
    assert verdicts["selection"]["command"].startswith("pytest -p no:cacheprovider suites") and \
        verdicts["selection"]["command"].endswith("-k 'not readiness'")
    # -x after a failing test: the tests it never ran leave their criteria NOT VERIFIED, never PASS
    (suites / "suites" / "health" / "test_aaa_first.py").write_text(
        "import pytest\n\n@pytest.mark.criterion('ops.restart_time')\ndef test_fails(evidence):\n"
        "    evidence.check('ops.restart_time', 'service started', False)\n")
    result, verdicts = run_pytest(suites, "px", "-x")
    monitoring = verdicts["criteria"]["ops.monitoring"]
    assert monitoring["verdict"] == "NOT VERIFIED" and "did not run (the run stopped early" in monitoring["reason"]
