"""Verdict derivation for every case the gate review depends on (pure logic, plain records)."""

from datetime import date
from pathlib import Path

from ivv.config.gates import GateSet, load_gate
from ivv.config.waivers import Waiver
from ivv.evidence.journal import Record
from ivv.evidence.verdict import ExitStatus
from ivv.evidence.verdicts import CONDITIONS, HOLD, PROCEED, derive

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
    assert out["decision"] == PROCEED and ExitStatus.for_decision(out["decision"]) == 0
    assert out["gates"]["demo"]["decision"] == PROCEED


def test_a_fail_among_passes_fails_the_criterion_and_holds():
    records = passing_mandatory() + [rec(3, "demo.latency", "FAIL", value=75.0), rec(4, "demo.latency", "PASS")]
    out = derive(records, GATE, [], DAY)
    entry = out["criteria"]["demo.latency"]
    assert entry["verdict"] == "FAIL"
    assert entry["evidence"] == [1, 3, 4]
    assert "measured 75 ms, required < 50 ms" in entry["reason"]
    assert out["decision"] == HOLD and ExitStatus.for_decision(HOLD) == 1
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
    assert out["decision"] == CONDITIONS and ExitStatus.for_decision(CONDITIONS) == 0


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
    out = derive(passing_mandatory() + [rec(3, "other.thing", "FAIL", value=75.0)], GATE, [], DAY)
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
    assert ExitStatus.for_verdicts(out) == ExitStatus.COULD_NOT_RUN == 2
    assert ExitStatus.for_verdicts(derive(passing_mandatory(), GATE, [], DAY)) == 0


# -- verdicts re-derived from value and gate threshold, never trusted ----------------------------------
MONITORING = GateSet([load_gate(Path(__file__).resolve().parent / "demo" / "monitoring-gate.yaml")])


def test_a_stored_verdict_that_disagrees_is_recomputed_and_is_a_tamper_finding():
    records = passing_mandatory() + [rec(3, "demo.latency", "PASS", value=999.0)]   # edited: 999 ms "PASS"
    out = derive(records, GATE, [], DAY)
    entry = out["criteria"]["demo.latency"]
    assert entry["verdict"] == "FAIL" and entry["binding"] == 3
    assert "measured 999 ms, required < 50 ms" in entry["reason"]
    problem = "record 3 (demo.latency: r3): stored verdict PASS, but 999.0 ms against < 50 ms is FAIL"
    assert out["integrity"]["problems"] == [problem]
    assert entry["findings"] == [{"kind": "tamper", "text": problem, "records": [3]}]
    assert out["integrity"]["status"] == "unchained"       # no bundle: nothing chained to call altered


def test_in_a_chained_bundle_a_disagreement_alters_it_holds_and_exits_3():
    from ivv.evidence.integrity import Integrity
    records = passing_mandatory() + [rec(3, "demo.latency", "PASS", value=999.0)]
    out = derive(records, GATE, [], DAY, integrity=Integrity("verified"))
    assert out["integrity"]["status"] == "altered" and out["decision"] == HOLD
    assert "The bundle was altered after the run" in out["reason"] and out["gates"]["demo"]["decision"] == HOLD
    assert ExitStatus.for_verdicts(out) == ExitStatus.ALTERED == 3
    assert ExitStatus.for_verdicts(out, decision_counts=False) == 3


def test_a_lenient_threshold_recorded_beside_the_gate_is_judged_by_the_gate():
    # the old flaw: 400 ms against a test's own "< 500 ms" showed PASS beside the gate's "< 50 ms"
    lenient = {"op": "<", "value": 500.0, "unit": "ms", "text": "< 500 ms"}
    out = derive(passing_mandatory()[1:] + [rec(1, "demo.latency", "PASS", value=400.0, threshold=lenient)],
                 GATE, [], DAY)
    assert out["criteria"]["demo.latency"]["verdict"] == "FAIL"
    assert any("recorded against < 500 ms, but the gate says < 50 ms" in p for p in out["integrity"]["problems"])


def test_a_named_setting_is_found_again_and_a_missing_one_judges_nothing():
    bound = {"op": "<=", "value": 2.0, "unit": "s", "text": "≤ 2 s", "setting": "health.start_to_ready_s"}
    ok = Record(seq=1, kind="measurement", criterion="ops.restart_time", name="restart", verdict="PASS", value=1.5,
                unit="s", threshold=bound, target="t")
    slow = Record(seq=2, kind="measurement", criterion="ops.restart_time", name="restart", verdict="PASS", value=2.5,
                  unit="s", threshold=bound, target="t")
    assert derive([ok], MONITORING, [], DAY)["criteria"]["ops.restart_time"]["verdict"] == "PASS"
    assert derive([ok, slow], MONITORING, [], DAY)["criteria"]["ops.restart_time"]["verdict"] == "FAIL"
    gone = Record(seq=1, kind="measurement", criterion="ops.restart_time", name="restart", verdict="PASS",
                  value=1.5, unit="s", threshold={**bound, "setting": "health.no_such_s"}, target="t")
    from ivv.evidence.integrity import Integrity
    out = derive([gone], MONITORING, [], DAY, integrity=Integrity("verified"))
    assert out["criteria"]["ops.restart_time"]["verdict"] == "NOT VERIFIED"
    assert "its threshold is in no gate of the bundle" in out["integrity"]["problems"][0]


def test_a_check_verdict_is_recomputed_from_its_value():
    edited = rec(2, "demo.file_roundtrip", "PASS", kind="check", value=False)
    out = derive([rec(1, "demo.latency", "PASS"), edited], GATE, [], DAY)
    assert out["criteria"]["demo.file_roundtrip"]["verdict"] == "FAIL"
    assert "stored verdict PASS, but its value False is FAIL" in out["integrity"]["problems"][0]


# -- one verdict per target, the gate takes the worst ---------------------------------------------------
def on(target, seq, criterion, verdict, **kw):
    return rec(seq, criterion, verdict, target=target, **kw)


def test_a_criterion_is_decided_per_target_and_takes_the_worst():
    records = [on("pi", 1, "demo.latency", "PASS"), on("vdev", 2, "demo.latency", "FAIL", value=75.0),
               on("pi", 3, "demo.file_roundtrip", "PASS", kind="check", value=True),
               on("vdev", 4, "demo.file_roundtrip", "NOT VERIFIED", kind="gap", reason="test skipped: no camera")]
    out = derive(records, GATE, [], DAY)
    latency, roundtrip = out["criteria"]["demo.latency"], out["criteria"]["demo.file_roundtrip"]
    assert out["targets"] == ["pi", "vdev"]
    assert {t: e["verdict"] for t, e in latency["targets"].items()} == {"pi": "PASS", "vdev": "FAIL"}
    assert latency["verdict"] == "FAIL" and latency["reason"].startswith("on vdev: r2: measured 75 ms")
    assert latency["targets"]["vdev"]["evidence"] == [2] and latency["binding"] == 2 and latency["evidence"] == [1, 2]
    assert roundtrip["verdict"] == "NOT VERIFIED" and roundtrip["targets"]["pi"]["verdict"] == "PASS"
    assert out["decision"] == HOLD


def test_the_order_is_fail_not_verified_waived_pass():
    from ivv.evidence.verdict import Verdict, worst
    assert worst(["PASS", "WAIVED"]) == Verdict.WAIVED
    assert worst(["WAIVED", "NOT VERIFIED", "PASS"]) == Verdict.NOT_VERIFIED
    assert worst(["NOT VERIFIED", "FAIL"]) == Verdict.FAIL
    assert worst([]) == Verdict.NOT_VERIFIED


def test_a_record_without_a_target_counts_for_every_target():
    deselected = rec(3, "demo.latency", "NOT VERIFIED", kind="gap", reason="its test t was deselected in this run",
                     details={"deselected": "t"})
    records = [on("pi", 1, "demo.latency", "PASS"), on("vdev", 2, "demo.latency", "PASS"), deselected]
    entry = derive(records, GATE, [], DAY)["criteria"]["demo.latency"]
    assert {t: e["verdict"] for t, e in entry["targets"].items()} == {"pi": "NOT VERIFIED", "vdev": "NOT VERIFIED"}
    assert entry["targets"]["pi"]["evidence"] == [1, 3]


def test_a_waiver_naming_a_target_covers_only_that_target():
    records = [on("pi", 1, "demo.latency", "FAIL", value=75.0), on("vdev", 2, "demo.latency", "FAIL", value=80.0),
               on("pi", 3, "demo.file_roundtrip", "PASS", kind="check", value=True)]
    for_pi = Waiver("demo.latency", "slow board this quarter", "qa", date(2026, 12, 1), target="pi")
    entry = derive(records, GATE, [for_pi], DAY)["criteria"]["demo.latency"]
    assert entry["targets"]["pi"]["verdict"] == "WAIVED" and entry["targets"]["vdev"]["verdict"] == "FAIL"
    assert entry["verdict"] == "FAIL" and entry["waiver"] is None
    everywhere = Waiver("demo.latency", "slow boards this quarter", "qa", date(2026, 12, 1))
    out = derive(records, GATE, [everywhere], DAY)
    assert out["criteria"]["demo.latency"]["verdict"] == "WAIVED" and out["decision"] == CONDITIONS
    assert out["criteria"]["demo.latency"]["underlying"] == "FAIL"


# -- the verdicts.json shape ------------------------------------------------------------------------
def test_verdicts_json_has_the_format_2_shape():
    out = derive(passing_mandatory(), MONITORING, [], DAY, selection={
        "command": "ivv gate -- -k 'not readiness'",
        "deselected": [{"test": "t::readiness", "criteria": ["ops.monitoring"], "why": "deselected"}]})
    assert set(out) == {"format", "decision", "reason", "date", "targets", "criteria", "gates", "harness_errors",
                        "integrity", "selection"} and out["format"] == 2
    entry = out["criteria"]["ops.monitoring"]
    assert {"verdict", "reason", "evidence", "title", "mandatory", "gate", "suite", "threshold", "in_gate",
            "waiver", "expired_waivers", "trace", "binding", "repeats", "targets", "findings"} <= set(entry)
    assert entry["trace"] == ["REQ-12", "CDR-4.3"] and entry["targets"] == {} and entry["binding"] is None
    assert entry["findings"] == [{"kind": "deselected", "text": "its test t::readiness was deselected", "records": []}]
    assert out["selection"]["command"] == "ivv gate -- -k 'not readiness'"
    assert set(out["integrity"]) == {"status", "problems", "notes"}


def test_a_fleet_scoped_criterion_passes_only_on_a_fleet_wide_record():
    fleet = GateSet([load_gate(Path(__file__).resolve().parents[1] / "deployment" / "gates" / "fleet.yaml")])
    half = rec(1, "fleet.converged", "PASS", kind="check", value=True, target="pi-1")
    alone = derive([half], fleet, [], DAY)["criteria"]["fleet.converged"]
    assert alone["verdict"] == "NOT VERIFIED" and "one device's half" in alone["reason"]
    wide = rec(2, "fleet.converged", "PASS", kind="check", value=True)      # recorded when bundles merge
    assert derive([half, wide], fleet, [], DAY)["criteria"]["fleet.converged"]["verdict"] == "PASS"
    failed = rec(3, "fleet.converged", "FAIL", kind="check", value=False)
    assert derive([half, wide, failed], fleet, [], DAY)["criteria"]["fleet.converged"]["verdict"] == "FAIL"
