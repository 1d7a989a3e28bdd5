"""A run killed with SIGKILL mid-way keeps every record it wrote; `ivv report` renders them all."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tests" / "demo"


@pytest.mark.slow
def test_sigkill_mid_run_bundle_still_renders(tmp_path):
    env = {**os.environ, "IVV_DEMO_SLEEP": "60"}
    suite = tmp_path / "suite"
    suite.mkdir()
    shutil.copyfile(DEMO / "demo_suite.py", suite / "demo_suite.py")  # outside the repo: no root conftest
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "demo_suite.py",
         "--ivv-gate", str(DEMO / "demo-gate.yaml"), "--ivv-reports", str(tmp_path), "--ivv-run-id", "killed"],
        cwd=suite, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    evidence = tmp_path / "killed" / "evidence.jsonl"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:  # wait until the record written just before the sleep is on disk
            if evidence.exists() and '"sha256 unchanged after write/read"' in evidence.read_text():
                break
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.1)
        else:
            raise AssertionError("the demo run never recorded its round-trip check")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    written = [json.loads(line) for line in evidence.read_text().splitlines()]
    assert not (tmp_path / "killed" / "verdicts.json").exists()
    with open(evidence, "a") as fh:  # as if killed in the middle of writing a record
        fh.write('{"seq": 99, "kind": "chec')

    result = subprocess.run([sys.executable, "-m", "ivv.cli", "report", str(tmp_path / "killed")], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    markdown = (tmp_path / "killed" / "gate-review.md").read_text()
    for record in written:
        if record["kind"] != "test":
            assert f'<a id="ev-{record["seq"]}"></a>{record["seq"]} | `{record["criterion"]}` | {record["name"]}' in markdown
    verdicts = json.loads((tmp_path / "killed" / "verdicts.json").read_text())
    assert verdicts["integrity"]["status"] == "verified", verdicts["integrity"]  # killed is not altered
    assert any("torn line" in note for note in verdicts["integrity"]["notes"])
    assert verdicts["criteria"]["demo.latency"]["verdict"] == "PASS"
    roundtrip = verdicts["criteria"]["demo.file_roundtrip"]
    assert roundtrip["verdict"] == "NOT VERIFIED" and "ended before" in roundtrip["reason"]
    assert "the run did not finish" in markdown
    assert "test_file_roundtrip`: started, never finished" in markdown


def _default_sigint():
    """A job started in the background by a non-interactive shell inherits SIGINT ignored; a user's Ctrl-C is not."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
def test_ctrl_c_during_ivv_gate_still_writes_verdicts_and_report(tmp_path):
    (tmp_path / "suites" / "demo").mkdir(parents=True)
    shutil.copyfile(DEMO / "demo_suite.py", tmp_path / "suites" / "demo" / "test_demo.py")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ivv.cli", "gate", "--suites-dir", "suites", "--gate", str(DEMO / "demo-gate.yaml"),
         "--reports", "out", "--run-id", "int"],
        cwd=tmp_path, env={**os.environ, "IVV_DEMO_SLEEP": "60"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,  # own process group: SIGINT reaches ivv and pytest like Ctrl-C
        preexec_fn=_default_sigint)
    evidence = tmp_path / "out" / "int" / "evidence.jsonl"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if evidence.exists() and '"sha256 unchanged after write/read"' in evidence.read_text():
                break
            assert proc.poll() is None, "the run ended before it could be interrupted"
            time.sleep(0.1)
        else:
            raise AssertionError("the demo run never recorded its round-trip check")
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    assert proc.returncode == 1, out + err  # HOLD: the interrupted test's criterion is NOT VERIFIED
    verdicts = json.loads((tmp_path / "out" / "int" / "verdicts.json").read_text())
    assert verdicts["criteria"]["demo.latency"]["verdict"] == "PASS"
    assert verdicts["criteria"]["demo.file_roundtrip"]["verdict"] == "NOT VERIFIED"
    assert "interrupted during the test (KeyboardInterrupt)" in verdicts["criteria"]["demo.file_roundtrip"]["reason"]
    assert "decision: HOLD" in out
    assert (tmp_path / "out" / "int" / "gate-review.html").exists()
