"""Bad-input fuzzing from the params schemas: documented errors only; no crash, hang, drop, leak or
write outside the data folders. Each failure is shrunk to a minimal frame and replayed."""

import json

import pytest

from ivv.contract.fuzz import fuzz

CRITERION = "contract.fuzz_robustness"


@pytest.mark.criterion(CRITERION)
def test_fuzz_robustness(contract_probe, rpc_stack, evidence, contract_setting):
    report = fuzz(contract_probe, max_examples=int(contract_setting("fuzz_examples", 50)),
                  seconds=float(contract_setting("fuzz_seconds", 60)),
                  call_timeout=float(contract_setting("fuzz_call_timeout_s", 5)),
                  shrink_seconds=float(contract_setting("fuzz_shrink_seconds", 30)),
                  methods=contract_setting("fuzz_methods", None),
                  fs_snapshot=rpc_stack.fs_snapshot)
    art = evidence.artifact("fuzz-failures.json", json.dumps([f.as_dict() for f in report.failures], indent=2))
    summary = (f"{report.examples} examples over {len(report.per_method)} methods in {report.seconds:.1f} s; "
               f"mutations {report.mutations}")
    evidence.check(CRITERION, "fuzzing ran", report.examples > 0, expected="> 0 examples", observed=summary,
                   details={"table": {"title": "examples per method", "columns": ["method", "examples"],
                                      "rows": [[m, n] for m, n in report.per_method.items()]}})
    for f in report.failures:
        evidence.check(CRITERION, f"fuzz {f.method}: {f.kind}", False, expected="a documented error or a valid result",
                       observed=f.detail, artifacts=[art],
                       details={"minimal_frame": f.frame[:4000], "frame_chars": len(f.frame), "mutation": f.mutation,
                                "reply": f.reply[:2000], "shrunk": f.shrunk, "reproduced": f.reproduced,
                                "reproduce": f.reproduce_detail})
    evidence.check(CRITERION, "no fuzz failure", not report.failures, expected="0 failures",
                   observed=f"{len(report.failures)} failure(s)", artifacts=[art],
                   details={"table": {"title": "fuzz failures (minimal reproducers)",
                                      "columns": ["method", "kind", "detail", "minimal frame", "reproduced"],
                                      "rows": [[f.method, f.kind, f.detail[:200], f.frame[:300], str(f.reproduced)]
                                               for f in report.failures]}})
    assert not report.failures, "; ".join(f"{f.method} {f.kind}: {f.frame[:200]}" for f in report.failures)
