"""The rollback suite on the virtual device: N -> N+1 -> N as often as the gate says, timed, with data
and config intact, and the broken release caught and rolled back."""

import opsrun
import pytest

pytestmark = pytest.mark.vdevice


def test_rollback_suite_passes_on_the_reference_stack(vdevice, tmp_path_factory):
    run = opsrun.shared_cdr_run(vdevice, tmp_path_factory)
    assert run.verdict("ops.rollback_time") == "PASS", run.explain()
    assert run.verdict("ops.data_preserved") == "PASS", run.explain()
    repeats = opsrun.SELFTEST_REPEATS        # the gate file's own setting (3) is what `make gate` runs
    # each rollback is one repeat of the same measurement; the report binds the worst (ivv.evidence.binding)
    runs = [r for r in run.records("ops.rollback_time")
            if (r.get("details") or {}).get("repeat_of") == "rollback time, command to ready"]
    assert len(runs) == repeats and all(r["threshold"]["value"] == 300 for r in runs)
    assert all(r["name"].startswith(f"run {i}: rollback to ") for i, r in enumerate(runs, 1))
    broken = [r for r in run.records("ops.rollback_time") if "cannot start is detected" in r["name"]]
    assert broken and broken[0]["verdict"] == "PASS"
    sums = [r for r in run.records("ops.data_preserved") if "sha256 unchanged" in r["name"]]
    assert len(sums) == repeats + 1 and all(r["verdict"] == "PASS" for r in sums)
