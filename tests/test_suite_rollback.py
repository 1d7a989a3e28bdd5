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
    worst = next(r for r in run.records("ops.rollback_time") if r["name"].startswith("worst rollback time"))
    assert len(worst["series"]["values"]) == repeats and worst["value"] == max(worst["series"]["values"])
    assert [row[0] for row in worst["details"]["table"]["rows"]] == ["min", "median", "max", "runs"]
    assert worst["threshold"]["value"] == 300
    broken = [r for r in run.records("ops.rollback_time") if "cannot start is detected" in r["name"]]
    assert broken and broken[0]["verdict"] == "PASS"
    sums = [r for r in run.records("ops.data_preserved") if "sha256 unchanged" in r["name"]]
    assert len(sums) == repeats + 1 and all(r["verdict"] == "PASS" for r in sums)
