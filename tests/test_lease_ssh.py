"""Leases on a shared device reached over real SSH, as a lab board would be (this machine through a private
sshd on 127.0.0.1, so the lease directory is this machine's): a second run waits for the first and then
proceeds; a killed run's lease expires and the next run takes it over, and says so in its manifest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from ivv.targets.lease import LEASE_DIR

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
ROOT = Path(__file__).resolve().parent.parent


def leased() -> bool:
    return Path(LEASE_DIR).is_dir()


@pytest.fixture
def board(sshd, tmp_path) -> Path:
    """An inventory naming the sshd as a shared `ssh` device, and a suite that holds it."""
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(yaml.safe_dump({"targets": [{
        "name": "board", "kind": "ssh", "host": "127.0.0.1", "port": sshd.port, "user": sshd.user,
        "key": str(sshd.key), "host_key_checking": "off", "known_hosts": str(tmp_path / "known_hosts")}]}))
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "test_hold.py").write_text(textwrap.dedent("""
        import os, time

        def test_hold(target):
            target.run("true")
            time.sleep(float(os.environ.get("HOLD_S", "0")))
    """))
    subprocess.run(["rm", "-rf", LEASE_DIR], check=True)
    return inventory


def _pytest(tmp_path: Path, inventory: Path, run_id: str, hold_s: float, wait_s: float, ttl_s: float):
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "suite"),
           "--ivv-inventory", str(inventory), "--ivv-run-id", run_id, "--ivv-reports", str(tmp_path / "reports"),
           "--ivv-lease-wait", str(wait_s), "--ivv-lease-ttl", str(ttl_s)]
    return subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "HOLD_S": str(hold_s)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _leases(tmp_path: Path, run_id: str) -> dict:
    return json.loads((tmp_path / "reports" / run_id / "manifest.json").read_text()).get("leases", {})


def _until_leased(holder: subprocess.Popen, limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while not leased():
        assert time.monotonic() < deadline and holder.poll() is None, holder.communicate()
        time.sleep(0.5)


def test_second_run_waits_then_proceeds(board, tmp_path):
    first = _pytest(tmp_path, board, "first", hold_s=25, wait_s=0, ttl_s=120)
    _until_leased(first)
    second = _pytest(tmp_path, board, "second", hold_s=0, wait_s=90, ttl_s=120)
    out1, err1 = first.communicate(timeout=180)
    out2, err2 = second.communicate(timeout=180)
    assert first.returncode == 0 and second.returncode == 0, (out1, err1, out2, err2)
    said = out2 + err2        # the line goes past pytest's capture, through its terminal reporter
    assert "ivv: board: leased by run first" in said and "waiting" in said, (said, _leases(tmp_path, "second"))
    assert _leases(tmp_path, "second")["board"]["run_id"] == "second"
    assert not leased()  # released at the end


def test_killed_runs_lease_is_taken_over_after_expiry(board, tmp_path):
    killed = _pytest(tmp_path, board, "killed", hold_s=120, wait_s=0, ttl_s=20)
    _until_leased(killed)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.communicate(timeout=30)
    impatient = _pytest(tmp_path, board, "impatient", hold_s=0, wait_s=0, ttl_s=60)
    out, err = impatient.communicate(timeout=120)
    assert impatient.returncode != 0 and "leased by run killed" in (out + err), (out, err)
    taker = _pytest(tmp_path, board, "taker", hold_s=0, wait_s=120, ttl_s=60)
    out, err = taker.communicate(timeout=180)
    assert taker.returncode == 0, (out, err)
    lease = _leases(tmp_path, "taker")["board"]
    assert lease["run_id"] == "taker" and lease["taken_over_from"] == "killed", lease
