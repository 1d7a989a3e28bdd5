"""Bad-input fuzzing from the params schemas: documented errors only; no crash, hang, drop, leak or
write outside the data folders. Each failure is shrunk to a minimal frame and replayed."""

import pytest

from ivv.contract.fuzz import fuzz
from ivv.evidence.facts import record

CRITERION = "contract.fuzz_robustness"


@pytest.mark.criterion(CRITERION)
def test_fuzz_robustness(contract_probe, rpc_stack, evidence, contract_setting):
    report = fuzz(contract_probe, max_examples=int(contract_setting("fuzz_examples", 50)),
                  seconds=float(contract_setting("fuzz_seconds", 60)),
                  call_timeout=float(contract_setting("fuzz_call_timeout_s", 5)),
                  shrink_seconds=float(contract_setting("fuzz_shrink_seconds", 30)),
                  methods=contract_setting("fuzz_methods", None),
                  fs_snapshot=rpc_stack.fs_snapshot)
    record(evidence, report.facts(), CRITERION)
    assert not report.failures, "; ".join(f"{f.method} {f.kind}: {f.frame[:200]}" for f in report.failures)
