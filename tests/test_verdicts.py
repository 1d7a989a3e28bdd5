"""Verdict derivation for every case the gate review depends on (pure logic, plain records)."""

from datetime import date
from pathlib import Path

from ivv.config.gates import GateSet, load_gate
from ivv.config.waivers import Waiver
from ivv.evidence.journal import Record
from ivv.evidence.verdicts import CONDITIONS, HOLD, PROCEED, derive, exit_code, exit_status

GATE = GateSet([load_gate(Path(__file__).resolve().parent / "demo" / "demo-gate.yaml")])
DAY = date(2026, 6, 1)
LAT = {"op": "<", "value": 50.0, "unit": "ms", "text": "< 50 ms"}


def rec(seq, criterion, verdict, kind="measurement", **kw):
    defaults = {"value": 10.0, "unit": "ms", "threshold": LAT} if kind == "measurement" else {}
    return Record(seq=seq, kind=kind, criterion=criterion, name=kw.pop("name", f"r{seq}"), verdict=verdict,
                  **{**defaults, **kw})


def passing_mandatory():
    return [rec(1, "demo.latency", "PASS"), rec(2, "demo.file_roundtrip", "PASS", kind="check", value=True)]


def test_all_mandatory_pass_proceeds_and_optional_unmeasured_do_not_block():
    out = derive(passing_mandatory(), GATE, [], DAY)
    assert out["criteria"]["demo.latency"]["verdict"] == "PASS"
    assert out["criteria"]["demo.latency"]["evidence"] == [1]
    assert out["criteria"]["demo.untested"]["verdict"] == "NOT VERIFIED"
    assert out["criteria"]["demo.untested"]["reason"] == "no test measured it."
    assert out["decision"] == PROCEED and exit_code(out["decision"]) == 0
    assert out["gates"]["demo"]["decision"] == PROCEED


def test_a_fail_among_passes_fails_the_criterion_and_holds():
    records = passing_mandatory() + [rec(3, "demo.latency", "FAIL", value=75.0), rec(4, "demo.latency", "PASS")]
    out = derive(records, GATE, [], DAY)
    entry = out["criteria"]["demo.latency"]
    assert entry["verdict"] == "FAIL"
    assert entry["evidence"] == [1, 3, 4]
    assert "measured 75 ms, required < 50 ms" in entry["reason"]
    assert out["decision"] == HOLD and exit_code(HOLD) == 1
    assert "demo.latency" in out["reason"]


def test_all_skipped_is_not_verified():
    records = [rec(1, "demo.latency", "NOT VERIFIED", kind="gap", reason="test skipped: no device"),
               rec(2, "demo.file_roundtrip", "NOT VERIFIED", kind="gap", reason="test skipped: no device")]
    out = derive(records, GATE, [], DAY)
    assert {e["verdict"] for e in out["criteria"].values()} == {"NOT VERIFIED"}
    assert out["criteria"]["demo.latency"]["reason"] == "test skipped: no device."
    assert out["decision"] == HOLD


def test_a_gap_beside_a_pass_is_not_verified():
    records = passing_mandatory() + [rec(3, "demo.latency", "NOT VERIFIED", kind="gap", reason="second target unreachable")]
    assert derive(records, GATE, [], DAY)["criteria"]["demo.latency"]["verdict"] == "NOT VERIFIED"


def test_test_started_but_never_finished_is_not_verified():
    records = [Record(seq=1, kind="test", criterion=None, name="t", test="t", value="started",
                      details={"criteria": ["demo.latency"]})] + passing_mandatory()
    entry = derive(records, GATE, [], DAY)["criteria"]["demo.latency"]
    assert entry["verdict"] == "NOT VERIFIED"
    assert "ended before t finished" in entry["reason"]


def test_active_waiver_gives_proceed_with_conditions():
    records = passing_mandatory() + [rec(3, "demo.latency", "FAIL", value=75.0)]
    waiver = Waiver("demo.latency", "slow CI host this quarter", "qa", date(2026, 6, 1))
    out = derive(records, GATE, [waiver], DAY)
    entry = out["criteria"]["demo.latency"]
    assert entry["verdict"] == "WAIVED" and entry["underlying"] == "FAIL"
    assert entry["waiver"]["owner"] == "qa"
    assert out["decision"] == CONDITIONS and exit_code(CONDITIONS) == 0


def test_expired_waiver_covers_nothing_and_says_so():
    records = passing_mandatory() + [rec(3, "demo.latency", "FAIL", value=75.0)]
    waiver = Waiver("demo.latency", "slow CI host this quarter", "qa", date(2026, 5, 31))
    out = derive(records, GATE, [waiver], DAY)
    entry = out["criteria"]["demo.latency"]
    assert entry["verdict"] == "FAIL"
    assert "waiver expired on 2026-05-31" in entry["reason"]
    assert entry["expired_waivers"][0]["owner"] == "qa"
    assert out["decision"] == HOLD


def test_waiver_does_not_touch_a_pass():
    waiver = Waiver("demo.latency", "slow CI host this quarter", "qa", date(2027, 1, 1))
    out = derive(passing_mandatory(), GATE, [waiver], DAY)
    assert out["criteria"]["demo.latency"]["verdict"] == "PASS"
    assert out["decision"] == PROCEED


def test_without_a_gate_recorded_criteria_decide_and_nothing_recorded_holds():
    assert derive([], None, [], DAY)["decision"] == HOLD
    out = derive([rec(1, "x.one", "PASS")], None, [], DAY)
    assert out["decision"] == PROCEED and not out["criteria"]["x.one"]["in_gate"]


def test_records_for_criteria_outside_the_gate_do_not_change_its_decision():
    out = derive(passing_mandatory() + [rec(3, "other.thing", "FAIL")], GATE, [], DAY)
    assert out["criteria"]["other.thing"]["verdict"] == "FAIL"
    assert out["decision"] == PROCEED


def test_derivation_is_deterministic():
    records = passing_mandatory() + [rec(3, "demo.latency", "FAIL", value=75.0)]
    assert derive(records, GATE, [], DAY) == derive(list(records), GATE, [], DAY)


def test_a_harness_error_gives_exit_status_2():
    gap = rec(3, "demo.latency", "NOT VERIFIED", kind="gap", reason="the harness could not run the test",
              details={"harness_error": "PrerequisiteError: qemu-system-x86_64 not found"})
    out = derive(passing_mandatory()[1:] + [gap], GATE, [], DAY)
    assert out["harness_errors"] == ["PrerequisiteError: qemu-system-x86_64 not found"]
    assert "qemu-system-x86_64 not found" in out["reason"]
    assert exit_status(out) == 2
    assert exit_status(derive(passing_mandatory(), GATE, [], DAY)) == 0
