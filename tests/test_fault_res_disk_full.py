"""res.disk_full FAILs when the service deletes finished recordings to make room (knob delete_when_full)."""

import pytest

from tests.resilience_support import failing, recovery_faults, verdicts_of

pytestmark = [pytest.mark.vdevice, pytest.mark.extended, pytest.mark.timeout(1800)]


def test_fault_res_disk_full_loses_recordings(vdevice, tmp_path_factory, tmp_path):
    trial = recovery_faults(vdevice, tmp_path_factory)["disk"]
    verdicts, _ = verdicts_of(tmp_path, [trial], "res.disk_full")
    assert verdicts["res.disk_full"]["verdict"] == "FAIL"
    lost = {f.name: f for f in failing(trial, "res.disk_full")}["no finished file lost"]
    assert any(path.startswith("/var/recordings/") for path in lost.observed["missing"])
