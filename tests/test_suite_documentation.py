"""The documentation suite: the reference stack's runbook runs as written on the virtual device."""

import opsrun
import pytest

pytestmark = pytest.mark.vdevice


def test_runbook_works_as_written(vdevice, tmp_path_factory):
    run = opsrun.shared_cdr_run(vdevice, tmp_path_factory)
    assert run.verdict("ops.documentation") == "PASS", run.explain()
    commands = [r for r in run.records("ops.documentation") if r["name"].count("`") == 2]
    procedures = " ".join(r["name"].split(":", 1)[0].lower() for r in commands)
    assert len(commands) >= 4, commands
    for procedure in ("install", "status", "logs", "rollback"):
        assert procedure in procedures, procedures
