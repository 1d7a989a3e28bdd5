"""Facts before evidence: positive controls and minimum observations decide what a probe may claim."""

from ivv.evidence.facts import Fact, Undecided, controlled, observed, record
from ivv.evidence.journal import Journal, Recorder
from ivv.evidence.verdict import Verdict


def test_a_probe_counts_only_when_its_control_succeeded():
    probe = Fact("oversized frame refused", True, expected="refused", observed="error -32600", criterion="c")
    assert controlled(probe, Fact("frame just under the limit accepted", True)).passed
    failed = controlled(probe, Fact("frame just under the limit accepted", False, observed="closed"))
    assert isinstance(failed, Undecided) and "frame just under the limit accepted: closed" in failed.reason
    assert failed.verdict == Verdict.NOT_VERIFIED and failed.criterion == "c"
    assert isinstance(controlled(probe, Undecided("control", "no listed file")), Undecided)


def test_zero_observations_decide_nothing():
    assert observed("error replies scanned", 0).verdict == Verdict.NOT_VERIFIED
    assert observed("error replies scanned", 3) is None
    assert "2 files (at least 5" in observed("x", 2, minimum=5, what="files").reason


def test_record_writes_checks_and_gaps(tmp_path):
    recorder = Recorder(Journal(tmp_path / "evidence.jsonl"), tmp_path)
    rows = record(recorder, [Fact("a", True, exchanges=({"sent": "x", "received": ["y"], "outcome": "ok",
                                                         "elapsed_ms": 1},)),
                             Undecided("b", "nothing to compare with")], criterion="demo.c")
    assert [(r.kind, r.verdict) for r in rows] == [("check", "PASS"), ("gap", "NOT VERIFIED")]
    assert rows[0].artifacts and rows[1].reason == "b: nothing to compare with"
