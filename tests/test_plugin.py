"""The pytest plugin end to end: test outcomes become evidence, gaps and verdicts in a bundle.

Each case runs pytest in a subprocess on a small test file, the way `ivv gate` does.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tests" / "demo"


def run_pytest(args, cwd, env=None, timeout=120):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *map(str, args)], cwd=cwd,
                          env=full_env, capture_output=True, text=True, timeout=timeout)


OUTCOMES = '''
import pytest

@pytest.fixture
def broken_device():
    raise ConnectionError("device at 127.0.0.1:2222 refused")

@pytest.mark.criterion("a.pass")
def test_pass(evidence):
    evidence.measure("a.pass", "latency", 5.0, unit="ms")

@pytest.mark.criterion("a.assert_fail")
def test_assert_fail(evidence):
    evidence.check("a.assert_fail", "unit active", True)
    assert 1 + 1 == 3, "stack answered not_ready"

@pytest.mark.criterion("a.error_before")
def test_error_before(evidence):
    raise ConnectionError("target unreachable")

@pytest.mark.criterion("a.error_after")
def test_error_after(evidence):
    evidence.check("a.error_after", "first step", True)
    raise RuntimeError("second step crashed")

@pytest.mark.criterion("a.nothing")
def test_nothing(evidence):
    pass

@pytest.mark.criterion("a.skip")
def test_skip():
    pytest.skip("no power control on this target")

@pytest.mark.criterion("a.setup_error")
def test_setup_error(broken_device, evidence):
    evidence.check("a.setup_error", "never reached", True)

def test_free_evidence(evidence):
    evidence.check("a.free", "recorded without a marker", True)

def test_plain():  # an unmarked test that records nothing: it must not touch any verdict
    assert sum([1, 1]) == 2
'''


OUTCOMES_GATE = """
gate: {id: outcomes, title: Outcomes}
criteria:
  - {id: a.pass, title: Pass, requirement: fast, mandatory: true, suite: demo, threshold: {op: "<", value: 50, unit: ms}}
""" + "".join(f"  - {{id: a.{name}, title: {name}, requirement: {name}, mandatory: true, suite: demo}}\n"
              for name in ("assert_fail", "error_before", "error_after", "nothing", "skip", "setup_error"))


def test_outcomes_become_verdicts_and_the_bundle_is_complete(tmp_path):
    (tmp_path / "test_outcomes.py").write_text(OUTCOMES)
    (tmp_path / "gate.yaml").write_text(OUTCOMES_GATE)
    result = run_pytest(["test_outcomes.py", "--ivv-gate", "gate.yaml", "--ivv-run-id", "r1", "--ivv-reports",
                         tmp_path / "reports"], tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    bundle = tmp_path / "reports" / "r1"
    verdicts = json.loads((bundle / "verdicts.json").read_text())
    got = {cid: entry["verdict"] for cid, entry in verdicts["criteria"].items()}
    assert got == {"a.pass": "PASS", "a.assert_fail": "FAIL", "a.error_before": "NOT VERIFIED",
                   "a.error_after": "FAIL", "a.nothing": "NOT VERIFIED", "a.skip": "NOT VERIFIED",
                   "a.setup_error": "NOT VERIFIED", "a.free": "PASS"}
    reasons = {cid: entry["reason"] for cid, entry in verdicts["criteria"].items()}
    assert "stack answered not_ready" in reasons["a.assert_fail"]
    assert "target unreachable" in reasons["a.error_before"]
    assert "no power control" in reasons["a.skip"]
    assert "recorded no evidence" in reasons["a.nothing"]
    assert "refused" in reasons["a.setup_error"]
    assert verdicts["decision"] == "HOLD"
    for name in ("evidence.jsonl", "manifest.json", "junit.xml", "pytest-report.html", "gate-review.md",
                 "gate-review.html"):
        assert (bundle / name).is_file(), name
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["ended"] and manifest["pages"] == {"junit": "junit.xml", "html": "pytest-report.html"}
    assert (tmp_path / "reports" / "latest").resolve() == bundle.resolve()
    lines = (bundle / "evidence.jsonl").read_text().splitlines()
    for cid, entry in verdicts["criteria"].items():
        for seq in entry["evidence"]:
            assert json.loads(lines[seq - 1])["criterion"] == cid
    assert "decision: HOLD" in result.stdout
    # `ivv report` on the finished bundle gives exactly what the session wrote.
    from ivv.report.render import render_bundle
    written = {name: (bundle / name).read_bytes() for name in ("gate-review.md", "gate-review.html", "verdicts.json")}
    render_bundle(bundle)
    assert {name: (bundle / name).read_bytes() for name in written} == written


def test_tests_without_evidence_leave_reports_alone(tmp_path):
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    assert True\n")
    result = run_pytest(["test_plain.py"], tmp_path)
    assert result.returncode == 0, result.stdout
    assert not (tmp_path / "reports").exists()


def test_bad_gate_is_a_usage_error_naming_the_file(tmp_path):
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    assert True\n")
    result = run_pytest(["test_plain.py", "--ivv-gate", DEMO / "broken" / "gate-bad-operator.yaml"], tmp_path)
    assert result.returncode == 4
    assert "gate-bad-operator.yaml:6: criteria[0].threshold.op" in result.stderr


def test_session_fixture_records_manifest_facts_and_evidence(tmp_path):
    (tmp_path / "test_session.py").write_text(textwrap.dedent('''
        import pytest

        @pytest.fixture(scope="session")
        def device(ivv_bundle):
            ivv_bundle.update_manifest("targets", {"vdev": {"kernel": "6.1.0", "cores": 2}})
            ivv_bundle.set_manifest("stack", {"name": "camera-service", "version": "1.2.3"})
            ivv_bundle.recorder(suite="deployment").measure("demo.latency", "boot time", 0.016, unit="s")
            return "vdev"

        @pytest.mark.criterion("demo.file_roundtrip")
        def test_uses_device(device, evidence, ivv_gates, request):
            request.node.ivv_target_name = device
            assert ivv_gates.setting("demo.samples") == 12
            evidence.check("demo.file_roundtrip", "ok", True)
    '''))
    result = run_pytest(["test_session.py", "--ivv-gate", DEMO / "demo-gate.yaml", "--ivv-run-id", "s1",
                         "--ivv-reports", tmp_path / "reports"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    bundle = tmp_path / "reports" / "s1"
    records = [json.loads(line) for line in (bundle / "evidence.jsonl").read_text().splitlines()]
    boot = next(r for r in records if r["name"] == "boot time")
    assert boot["verdict"] == "PASS" and boot["test"] is None
    assert next(r for r in records if r["name"] == "ok")["target"] == "vdev"
    markdown = (bundle / "gate-review.md").read_text()
    assert "1.2.3" in markdown and "6.1.0" in markdown


def test_demo_suite_proceeds_and_fails_when_the_threshold_is_not_met(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    shutil.copyfile(DEMO / "demo_suite.py", suite / "demo_suite.py")  # outside the repo: no root conftest
    args = ["demo_suite.py", "--ivv-gate", DEMO / "demo-gate.yaml", "--ivv-reports", tmp_path]
    good = run_pytest([*args, "--ivv-run-id", "good"], suite)
    assert good.returncode == 0, good.stdout + good.stderr
    verdicts = json.loads((tmp_path / "good" / "verdicts.json").read_text())
    assert verdicts["decision"] == "PROCEED"
    assert verdicts["criteria"]["demo.skipped"]["verdict"] == "NOT VERIFIED"
    assert verdicts["criteria"]["demo.untested"]["reason"] == "no test measured it."
    # Fault injection: the measured latency cannot meet an impossible threshold -> FAIL, HOLD.
    strict = ["demo_suite.py", "--ivv-gate", DEMO / "demo-gate-strict.yaml", "--ivv-reports", tmp_path]
    bad = run_pytest([*strict, "--ivv-run-id", "bad"], suite)
    verdicts = json.loads((tmp_path / "bad" / "verdicts.json").read_text())
    assert verdicts["criteria"]["demo.latency"]["verdict"] == "FAIL"
    assert verdicts["decision"] == "HOLD"
    assert bad.returncode == 1  # a FAIL measurement fails the pytest test too (junit, pytest-html agree)
    assert "ivv evidence FAIL: demo.latency" in (tmp_path / "bad" / "junit.xml").read_text()


STOP_GATE = """
gate: {id: stop, title: Stop on fail}
criteria:
  - {id: s.deploy, title: Deploy, requirement: installs, mandatory: true, suite: deployment, stop_on_fail: true,
     threshold: {op: "<=", value: 600, unit: s}}
  - {id: s.later, title: Later, requirement: needs the deployment, mandatory: true, suite: health}
"""


def test_stop_on_fail_stops_the_run_and_names_the_cause(tmp_path):
    (tmp_path / "gate.yaml").write_text(STOP_GATE)
    (tmp_path / "test_stop.py").write_text(textwrap.dedent('''
        import pytest

        @pytest.mark.criterion("s.deploy")
        def test_deploy(evidence):
            evidence.measure("s.deploy", "install time", 900, unit="s")

        @pytest.mark.criterion("s.later")
        def test_later(evidence):
            evidence.check("s.later", "would pass", True)
    '''))
    result = run_pytest(["test_stop.py", "--ivv-gate", "gate.yaml", "--ivv-run-id", "st", "--ivv-reports", "out"],
                        tmp_path)
    verdicts = json.loads((tmp_path / "out" / "st" / "verdicts.json").read_text())
    assert verdicts["criteria"]["s.deploy"]["verdict"] == "FAIL"
    later = verdicts["criteria"]["s.later"]
    assert later["verdict"] == "NOT VERIFIED" and "stopped because s.deploy did not pass" in later["reason"]
    assert "1 failed" in result.stdout and "test_later" not in (tmp_path / "out" / "st" / "junit.xml").read_text()
