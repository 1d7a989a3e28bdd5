"""Is the operational documentation valid: does every documented procedure work as written?"""

import pytest

from ivv.ops import runbook


@pytest.mark.criterion("ops.documentation")
def test_documented_commands_work_as_written(evidence, ops):
    path = ops.runbook_path()
    commands = runbook.extract_file(path)
    procedures = sorted({c.procedure for c in commands})
    evidence.check("ops.documentation", f"{path.name} has executable procedures", bool(commands),
                   expected="at least one `run`-marked command block", observed=procedures)
    required = ops.required_procedures()
    missing = [p for p in required if not any(p.lower() in q.lower() for q in procedures)]
    evidence.check("ops.documentation", "runbook covers the procedures operators need", not missing,
                   expected=required, observed={"procedures": procedures, "missing": missing})
    ops.upload(ops.current_version)
    outcomes = ops.run_runbook(commands)
    art = evidence.artifact("runbook-run.json", ops.dump([o.as_dict() for o in outcomes]))
    for outcome in outcomes:
        cmd = outcome.command
        evidence.check("ops.documentation", f"{cmd.procedure}: `{cmd.command}` ({path.name}:{cmd.line})",
                       outcome.works, expected="exit 0",
                       observed={"exit": outcome.exit_status, "stderr": outcome.stderr_tail[-300:]},
                       artifacts=[art])
    waited = ops.wait_ready(ops.ready_timeout_s)
    evidence.check("ops.documentation", "service ready after the runbook's procedures", waited.reached,
                   expected="ready", observed=waited.last)
