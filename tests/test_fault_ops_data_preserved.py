"""An upgrade step that deletes a data file -> ops.data_preserved FAIL naming the file."""

import opsrun
import pytest

pytestmark = pytest.mark.vdevice


def test_fault_ops_data_preserved_upgrade_deletes_a_file(vdevice, tmp_path_factory):
    run, victim = opsrun.rollback_fault_run(vdevice, tmp_path_factory)
    assert run.verdict("ops.data_preserved") == "FAIL", run.explain()
    lost = [r for r in run.failing("ops.data_preserved") if "sha256 unchanged" in r["name"]]
    assert lost and lost[0]["observed"]["missing"] == [victim] and not lost[0]["observed"]["changed"]
