"""The journal and the recorder: records are plain data, fsync'ed per append, thresholds from the gate."""

import json
import os
from pathlib import Path

import pytest

from ivv.config.gates import GateSet, load_gate
from ivv.errors import ConfigError
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


def test_a_threshold_in_code_or_none_in_the_gate_is_a_config_error(recorder):
    # the old flaw: "< 500 ms" typed in a test made 400 ms PASS beside the gate's "< 50 ms"
    with pytest.raises(ConfigError, match="a threshold written in code"):
        recorder.measure("demo.latency", "lenient", 400, unit="ms", threshold="< 500 ms")
    with pytest.raises(ConfigError, match="'demo.file_roundtrip' has no `threshold`"):
        recorder.measure("demo.file_roundtrip", "size", 3)
    with pytest.raises(ConfigError, match="'x.unknown' is in no loaded gate"):
        recorder.measure("x.unknown", "size", 3)
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


MONITORING = GateSet([load_gate(Path(__file__).resolve().parent / "demo" / "monitoring-gate.yaml")])


def test_records_are_hash_chained_line_by_line(recorder, tmp_path):
    from ivv.evidence import chain
    recorder.check("demo.file_roundtrip", "a", True)
    recorder.measure("demo.latency", "b", 3.0, unit="ms")
    lines = (tmp_path / "evidence.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["prev"] == chain.GENESIS
    assert json.loads(lines[1])["prev"] == chain.line_hash(lines[0])
    assert recorder.journal.head == chain.line_hash(lines[1]) and recorder.journal.count == 2
    assert lines[1].endswith(f'"prev": "{chain.line_hash(lines[0])}"}}')
    assert chain.walk((tmp_path / "evidence.jsonl").read_bytes()).breaks == []


def test_a_short_secret_never_touches_the_chain(tmp_path):
    from ivv.evidence import chain
    journal = Journal(tmp_path / "evidence.jsonl")
    redact.register("0000")              # appears in GENESIS: the link itself is not redacted
    try:
        journal.append("check", "a.b", "x", verdict="PASS", value=True, observed="pin 0000")
    finally:
        redact.clear()
        journal.close()
    line = (tmp_path / "evidence.jsonl").read_text().splitlines()[0]
    assert json.loads(line)["prev"] == chain.GENESIS and "pin 0000" not in line


def test_a_setting_threshold_is_recorded_by_name(tmp_path):
    journal = Journal(tmp_path / "evidence.jsonl")
    rec = Recorder(journal=journal, bundle_dir=tmp_path, gates=MONITORING, test="t")
    record = rec.measure("ops.restart_time", "restart", 2.5, unit="s", setting="health.start_to_ready_s",
                         repeat_of="restart to ready")
    assert record.verdict == "FAIL" and record.threshold["setting"] == "health.start_to_ready_s"
    assert record.threshold["text"] == "≤ 2 s" and record.details == {"repeat_of": "restart to ready"}
    with pytest.raises(ConfigError, match="'health.nope_s' is not set"):
        rec.measure("ops.restart_time", "restart", 1.0, unit="s", setting="health.nope_s")
    journal.close()


def test_an_artifact_is_never_overwritten(recorder, tmp_path):
    first = recorder.artifact("run.json", "one")
    again = recorder.artifact("run.json", "one")
    other = recorder.artifact("run.json", "two")
    assert first.path == again.path and other.path.endswith("run-2.json")
    assert (tmp_path / first.path).read_text() == "one" and (tmp_path / other.path).read_text() == "two"


def test_read_records_keeps_the_written_seq_so_a_deleted_line_leaves_a_hole(recorder, tmp_path):
    for name in "abc":
        recorder.check("demo.file_roundtrip", name, True)
    path = tmp_path / "evidence.jsonl"
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n" + lines[2] + "\n")
    assert [r.seq for r in read_records(path)] == [1, 3]
