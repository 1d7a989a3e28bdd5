"""Bad-input fuzzing from the params schemas: documented errors only; no crash, hang, drop, leak or
write outside the data folders. Each failure is shrunk to a minimal frame and replayed. Then the
boundary pass: every constraint of every param broken alone, its control just inside it accepted."""

import pytest

from ivv.contract.boundary import boundary_pass
from ivv.contract.fuzz import fuzz
from ivv.contract.fuzzcases import CANARY
from ivv.contract.matrix import record_matrix, table, transcript
from ivv.evidence.facts import record

CRITERION = "contract.fuzz_robustness"


@pytest.mark.criterion(CRITERION)
def test_fuzz_robustness(contract_probe, rpc_stack, evidence, contract_setting):
    report = fuzz(contract_probe, max_examples=int(contract_setting("fuzz_examples", 50)),
                  seconds=float(contract_setting("fuzz_seconds", 60)),
                  call_timeout=float(contract_setting("fuzz_call_timeout_s", 5)),
                  shrink_seconds=float(contract_setting("fuzz_shrink_seconds", 30)),
                  methods=contract_setting("fuzz_methods", None),
                  fs_snapshot=lambda: rpc_stack.fs_snapshot(CANARY))
    record(evidence, report.facts(), CRITERION)
    assert not report.failures, "; ".join(f"{f.method} {f.kind}: {f.frame[:200]}" for f in report.failures)


@pytest.mark.criterion(CRITERION)
def test_param_boundaries(contract_probe, evidence, contract_setting):
    rows = boundary_pass(contract_probe, methods=contract_setting("fuzz_methods", None))
    failed = record_matrix(evidence, CRITERION, "param boundaries (each constraint from both sides)", rows,
                           table(rows, ("param constraint", "expected", "observed", "verdict")),
                           "boundary-exchanges.txt", transcript(rows))
    assert not failed, "; ".join(f"{r.name}: {r.observed}" for r in failed)
