"""`ivv gate` exit statuses: 0 PROCEED, 1 HOLD, 2 when the harness cannot run; `ivv report` re-renders."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tests" / "demo"


def ivv(args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "ivv.cli", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})


@pytest.fixture
def suites(tmp_path):
    (tmp_path / "suites" / "demo").mkdir(parents=True)
    shutil.copyfile(DEMO / "demo_suite.py", tmp_path / "suites" / "demo" / "test_demo.py")
    return tmp_path


@pytest.mark.slow
def test_gate_proceeds_then_holds_under_an_injected_fault(suites):
    base = ["gate", "--suites-dir", "suites", "--gate", DEMO / "demo-gate.yaml", "--reports", "out"]
    good = ivv([*base, "--run-id", "ok", "--", "-q"], suites)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "decision: PROCEED" in good.stdout and "out/ok/gate-review.html" in good.stdout
    strict = ["gate", "--suites-dir", "suites", "--gate", DEMO / "demo-gate-strict.yaml", "--reports", "out"]
    bad = ivv([*strict, "--run-id", "bad"], suites)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "decision: HOLD" in bad.stdout
    again = ivv(["report", suites / "out" / "bad", "--check"], suites)
    assert again.returncode == 1 and "decision: HOLD" in again.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--gate", DEMO / "broken" / "gate-missing-field.yaml"], "gate-missing-field.yaml:3: criteria[0]: 'requirement' is missing"),
    (["--gate", "no-such-gate"], "gate 'no-such-gate'"),
    (["--gate", DEMO / "demo-gate.yaml", "--waivers", DEMO / "broken" / "waivers-unknown-criterion.yaml"],
     "'perf.p99_ms' is in no loaded gate"),
    (["--gate", DEMO / "demo-gate.yaml", "--suites", "demo,nope"], "unknown suite(s) nope"),
])
def test_bad_input_exits_2_with_a_clear_message(suites, args, message):
    result = ivv(["gate", "--suites-dir", "suites", *args], suites)
    assert result.returncode == 2
    assert message in result.stderr


def test_missing_prerequisite_inside_a_suite_exits_2(tmp_path):
    (tmp_path / "suites" / "demo").mkdir(parents=True)
    (tmp_path / "suites" / "demo" / "test_boot.py").write_text(
        "import pytest\n"
        "from ivv.errors import PrerequisiteError\n\n"
        "@pytest.fixture\n"
        "def vm():\n"
        "    raise PrerequisiteError('qemu-system-x86_64 not found on PATH (apt-get install qemu-system-x86)')\n\n"
        "@pytest.mark.criterion('demo.latency')\n"
        "def test_boot(vm, evidence):\n"
        "    evidence.measure('demo.latency', 'boot', 1.0, unit='ms')\n")
    result = ivv(["gate", "--suites-dir", "suites", "--gate", DEMO / "demo-gate.yaml", "--reports", "out",
                  "--run-id", "pre"], tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "qemu-system-x86_64 not found on PATH" in result.stderr
    assert "The harness could not run a test" in (tmp_path / "out" / "pre" / "gate-review.md").read_text()
