"""The documentation suite: the reference stack's runbook runs as written on the virtual device."""

import opsrun
import pytest

pytestmark = pytest.mark.vdevice


def test_runbook_works_as_written(vdevice, tmp_path):
    opsrun.restore_current(vdevice)
    run = opsrun.run_gate(tmp_path, vdevice, "documentation", opsrun.gate_file(tmp_path), timeout=600)
    try:
        assert run.verdict("ops.documentation") == "PASS", run.explain()
        commands = [r for r in run.records("ops.documentation") if r["name"].count("`") == 2]
        procedures = {r["name"].split(":", 1)[0].lower() for r in commands}
        assert len(commands) >= 4 and all(any(p in q for q in procedures) for p in ("install", "status", "logs", "rollback"))
    finally:
        opsrun.restore_current(vdevice)
