"""slow_rollback (rollback.sh sleeps) past the SLO -> ops.rollback_time FAIL, decision HOLD."""

import opsrun
import pytest

pytestmark = [pytest.mark.vdevice, pytest.mark.extended]  # failing: see the README (make test-extended)


def test_fault_ops_rollback_time_slow_rollback(vdevice, tmp_path_factory):
    run, _victim = opsrun.rollback_fault_run(vdevice, tmp_path_factory)
    assert run.verdict("ops.rollback_time") == "FAIL", run.explain()
    assert run.verdicts["decision"] == "HOLD" and run.returncode == 1
    worst = next(r for r in run.failing("ops.rollback_time") if r["kind"] == "measurement")
    assert worst["value"] >= opsrun.SLOW_ROLLBACK_S and worst["threshold"]["value"] == opsrun.SLOW_SLO_S
    # the sleep is what made it slow: the rollback's own output says so
    back = (run.bundle / next(a["path"] for a in worst["artifacts"])).read_text()
    assert f"fault slow_rollback: sleeping {opsrun.SLOW_ROLLBACK_S} s" in back
