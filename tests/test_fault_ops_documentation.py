"""A documented command that no longer works (the runbook names a script the release does not ship)
-> ops.documentation FAIL naming the command and its line."""

import opsrun
import pytest

pytestmark = pytest.mark.vdevice

STALE = "sudo /opt/camera-service/current/scripts/status.sh"


def test_fault_ops_documentation_stale_command(vdevice, tmp_path):
    opsrun.restore_current(vdevice)
    runbook = "\n".join([
        "# Operations", "", "## Install", "```sh run", "sudo systemctl is-enabled camera-service", "```", "",
        "## Status", "```sh run", STALE, "```", "",
        "## Logs", "```sh run", "sudo journalctl -u camera-service -n 5 --no-pager", "```", "",
        "## Rollback", "```sh run", "sudo test -x /opt/camera-service/current/scripts/rollback.sh", "```", ""])
    profile = opsrun.profile_copy(tmp_path, runbook_text=runbook)
    run = opsrun.run_gate(tmp_path, vdevice, "documentation", opsrun.gate_file(tmp_path), profile=profile,
                          timeout=300)
    assert run.verdict("ops.documentation") == "FAIL", run.explain()
    failed = run.failing("ops.documentation")
    assert [r["name"] for r in failed] == [f"Status: `{STALE}` (RUNBOOK.md:10)"], run.explain()
    others = [r for r in run.records("ops.documentation") if r["name"].count("`") == 2 and r not in failed]
    assert len(others) == 3 and all(r["verdict"] == "PASS" for r in others)
