"""An upgrade step that deletes a data file -> ops.data_preserved FAIL naming the file."""

import opsrun
import pytest

# about 8 minutes under TCG (a rollback-suite run plus restoring the device): test-extended; in make test
# the stand-in stack's lose_data knob FAILs the same criterion locally (tests/test_stub_ops.py)
pytestmark = [pytest.mark.vdevice, pytest.mark.extended]


def test_fault_ops_data_preserved_upgrade_deletes_a_file(vdevice, tmp_path_factory):
    run, victim = opsrun.rollback_fault_run(vdevice, tmp_path_factory)
    assert run.verdict("ops.data_preserved") == "FAIL", run.explain()
    lost = [r for r in run.failing("ops.data_preserved") if "sha256 unchanged" in r["name"]]
    assert lost and lost[0]["observed"]["missing"] == [victim] and not lost[0]["observed"]["changed"]
