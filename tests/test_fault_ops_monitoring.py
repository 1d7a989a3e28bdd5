"""health_lies (health says ready whatever the components say) -> ops.monitoring FAIL."""

import opsrun
import pytest

pytestmark = pytest.mark.vdevice


def test_fault_ops_monitoring_health_lies(vdevice, tmp_path):
    opsrun.restore_current(vdevice)
    opsrun.set_faults(vdevice, opsrun.DEFAULT_PROFILE, {"health_lies": 1})
    gate = opsrun.gate_file(tmp_path, settings={"health.ready_transition_timeout_s": 15})
    try:
        run = opsrun.run_gate(tmp_path, vdevice, "health", gate, pytest_args=["-k", "follows_the_dependency"],
                              timeout=300)
        assert run.verdict("ops.monitoring") == "FAIL", run.explain()
        lie = next(r for r in run.failing("ops.monitoring") if "reports not ready" in r["name"])
        assert lie["observed"]["reached"] is False and lie["observed"]["last"]["status_code"] == 200
        stopped = next(r for r in run.records("ops.monitoring") if "really stopped" in r["name"])
        assert stopped["verdict"] == "PASS"        # the device did stop the dependency: health lied
    finally:
        opsrun.restore_current(vdevice)
