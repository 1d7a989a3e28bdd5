"""slow_rollback (rollback.sh sleeps) past the SLO -> ops.rollback_time FAIL, decision HOLD."""

import opsrun
import pytest

pytestmark = pytest.mark.vdevice

SLOW_S = 40      # the fault: rollback sleeps this long before working
SLO_S = 35       # the test gate's SLO: below the fault, far above a healthy rollback on this device


def test_fault_ops_rollback_time_slow_rollback(vdevice, tmp_path):
    ops = opsrun.stack_ops(vdevice)
    baseline = ops.rollback_baseline(lambda: [])        # N installed and ready, so the knob survives
    assert baseline.version == ops.previous_version
    opsrun.set_faults(vdevice, opsrun.DEFAULT_PROFILE, {"slow_rollback": SLOW_S})
    gate = opsrun.gate_file(tmp_path, settings={"rollback.repeats": 1},
                            thresholds={"ops.rollback_time": {"op": "<=", "value": SLO_S, "unit": "s"}})
    run = opsrun.run_gate(tmp_path, vdevice, "rollback", gate, pytest_args=["-k", "time_and_state"], timeout=600)
    try:
        assert run.verdict("ops.rollback_time") == "FAIL", run.explain()
        assert run.verdicts["decision"] == "HOLD" and run.returncode == 1
        worst = next(r for r in run.failing("ops.rollback_time") if r["kind"] == "measurement")
        assert worst["value"] >= SLOW_S and worst["threshold"]["value"] == SLO_S
    finally:
        opsrun.restore_current(vdevice)
