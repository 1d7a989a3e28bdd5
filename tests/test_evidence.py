"""The journal and the recorder: records are plain data, fsync'ed per append, thresholds from the gate."""

import json
import os
from pathlib import Path

import pytest

from ivv.config.gates import GateSet, load_gate
from ivv.evidence import redact
from ivv.evidence.journal import Journal, Recorder, read_records

GATE = GateSet([load_gate(Path(__file__).resolve().parent / "demo" / "demo-gate.yaml")])


@pytest.fixture
def recorder(tmp_path):
    journal = Journal(tmp_path / "evidence.jsonl")
    yield Recorder(journal=journal, bundle_dir=tmp_path, gates=GATE, test="t::x", target_name=lambda: "dev1")
    journal.close()


def test_measure_uses_the_gate_threshold_and_decides(recorder, tmp_path):
    ok = recorder.measure("demo.latency", "p95", 12.5, unit="ms", series={"unit": "ms", "values": [1, 2]})
    bad = recorder.measure("demo.latency", "p95 in s", 0.2, unit="s")
    assert (ok.verdict, bad.verdict) == ("PASS", "FAIL")
    assert ok.threshold["text"] == "< 50 ms"
    assert ok.target == "dev1" and ok.suite == "demo" and ok.test == "t::x"
    lines = (tmp_path / "evidence.jsonl").read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [1, 2]
    assert json.loads(lines[0])["series"]["values"] == [1, 2]


def test_explicit_threshold_overrides_and_missing_threshold_is_an_error(recorder):
    assert recorder.measure("demo.latency", "strict", 12.5, unit="ms", threshold="< 10 ms").verdict == "FAIL"
    with pytest.raises(ValueError, match="no threshold"):
        recorder.measure("demo.file_roundtrip", "size", 3)
    with pytest.raises(TypeError, match="not a number"):
        recorder.measure("demo.latency", "p95", "12 ms")
    with pytest.raises(ValueError, match="cannot compare"):
        recorder.measure("demo.latency", "p95", 12, unit="MB")


def test_check_gap_and_unmeasurable_value(recorder):
    assert recorder.check("demo.file_roundtrip", "same", True).verdict == "PASS"
    assert recorder.check("demo.file_roundtrip", "truthy is not True", 1).verdict == "FAIL"
    gap = recorder.measure("demo.latency", "p95", None)
    assert (gap.kind, gap.verdict) == ("gap", "NOT VERIFIED")
    assert [r.kind for r in recorder.recorded("demo.file_roundtrip")] == ["check", "check"]


def test_artifact_is_stored_redacted_with_its_sha256(recorder, tmp_path):
    redact.register("hunter2-secret")
    try:
        art = recorder.artifact("console.log", "password=hunter2-secret\n")
        src = tmp_path / "src.bin"
        src.write_bytes(b"\x00\x01binary")
        copied = recorder.artifact("blob.bin", src)
    finally:
        redact.clear()
    stored = tmp_path / art.path
    assert "hunter2-secret" not in stored.read_text()
    import hashlib
    assert art.sha256 == hashlib.sha256(stored.read_bytes()).hexdigest()
    assert (tmp_path / copied.path).read_bytes() == b"\x00\x01binary" and copied.bytes == 8


def test_each_append_is_fsynced(recorder, monkeypatch):
    calls = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd)))
    recorder.check("demo.file_roundtrip", "a", True)
    recorder.check("demo.file_roundtrip", "b", True)
    assert len(calls) == 2


def test_torn_last_line_is_ignored_but_a_corrupt_middle_line_is_an_error(tmp_path):
    path = tmp_path / "evidence.jsonl"
    path.write_text('{"kind": "check", "criterion": "a.b", "name": "x", "verdict": "PASS"}\n{"kind": "che')
    assert [r.seq for r in read_records(path)] == [1]
    path.write_text('{"kind": "che\n{"kind": "check", "criterion": "a.b", "name": "x"}\n')
    with pytest.raises(ValueError, match="evidence.jsonl:1"):
        read_records(path)


def test_unknown_kind_is_rejected(tmp_path):
    journal = Journal(tmp_path / "e.jsonl")
    with pytest.raises(ValueError, match="kind"):
        journal.append("opinion", "a.b", "looks fine")
    journal.close()


def test_reopening_a_killed_journal_drops_the_torn_line_and_continues_numbering(tmp_path):
    path = tmp_path / "evidence.jsonl"
    path.write_text('{"kind": "check", "criterion": "a.b", "name": "x", "verdict": "PASS"}\n{"kind": "che')
    journal = Journal(path)
    record = journal.append("check", "a.b", "y", verdict="PASS")
    journal.close()
    assert record.seq == 2
    assert [r.name for r in read_records(path)] == ["x", "y"]
