"""The device dies mid-gate (network cable pulled): what was measured before stays, what was not is
NOT VERIFIED (never PASS), the decision is HOLD and the bundle still renders."""

import json
import time

import opsrun
import pytest

pytestmark = pytest.mark.vdevice


def _started(bundle, suite: str) -> bool:
    path = bundle / "evidence.jsonl"
    if not path.exists():
        return False
    for line in path.read_text().splitlines():
        record = json.loads(line) if line.strip() else {}
        if record.get("kind") == "test" and f"suites/{suite}/" in (record.get("name") or ""):
            return True
    return False


def test_fault_ops_device_dies_mid_suite(vdevice, tmp_path):
    opsrun.restore_current(vdevice)
    started = time.monotonic()
    proc, bundle = opsrun.start_gate(tmp_path, vdevice, "health,rollback", opsrun.gate_file(tmp_path),
                                     pytest_args=["-k", "match_schema or rollback_time_and_state"])
    try:
        deadline = time.monotonic() + 300
        while not _started(bundle, "rollback") and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None, "the gate ended before the rollback suite started"
        vdevice.link(False)
        run = opsrun.finish_gate(proc, bundle, started, timeout=420)
    finally:
        vdevice.link(True)
        vdevice.ssh.wait_reachable(120)      # the guest re-runs DHCP on link up; later tests need it
    measured = [r for r in run.records("ops.monitoring") if r["kind"] != "gap"]
    assert measured and all(r["verdict"] == "PASS" for r in measured), run.explain()  # before the cable went
    # -k ran one of its tests: ops.monitoring is not decided on that subset
    assert run.verdict("ops.monitoring") == "NOT VERIFIED" and "deselected" in \
        run.verdicts["criteria"]["ops.monitoring"]["reason"], run.explain()
    for criterion in ("ops.rollback_time", "ops.data_preserved"):
        assert run.verdict(criterion) == "NOT VERIFIED", run.explain()
    for criterion in ("ops.deploy", "ops.env_config", "ops.documentation"):
        assert run.verdict(criterion) == "NOT VERIFIED", run.explain()      # never run: never PASS
    assert run.verdicts["decision"] == "HOLD" and run.returncode == 1
    review = (run.bundle / "gate-review.md").read_text()
    assert "NOT VERIFIED" in review and "ops.rollback_time" in review
    assert (run.bundle / "gate-review.html").exists()
    assert vdevice.run("true", timeout=60).succeeded                        # cable back: device answers
