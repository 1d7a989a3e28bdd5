"""An upgrade step that deletes a data file -> ops.data_preserved FAIL naming the file."""

import opsrun
import pytest

pytestmark = pytest.mark.vdevice


def test_fault_ops_data_preserved_upgrade_deletes_a_file(vdevice, tmp_path):
    ops = opsrun.stack_ops(vdevice)
    ops.rollback_baseline(lambda: [])
    victim = ops.seed_data_markers()[0]

    def bad_upgrade(data):
        data["deployment"]["upgrade"] = list(data["deployment"]["upgrade"]) + [f"sudo rm -f {victim}"]

    profile = opsrun.profile_copy(tmp_path, bad_upgrade)
    gate = opsrun.gate_file(tmp_path, settings={"rollback.repeats": 1})
    run = opsrun.run_gate(tmp_path, vdevice, "rollback", gate, profile=profile,
                          pytest_args=["-k", "time_and_state"], timeout=600)
    try:
        assert run.verdict("ops.data_preserved") == "FAIL", run.explain()
        lost = next(r for r in run.failing("ops.data_preserved") if "sha256 unchanged" in r["name"])
        assert lost["observed"]["missing"] == [victim]
    finally:
        opsrun.restore_current(vdevice)
