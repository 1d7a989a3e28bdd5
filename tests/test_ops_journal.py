"""The device journal around an operation: saved redacted, and its anomalies named as findings."""

from types import SimpleNamespace

from ivv.evidence import redact
from ivv.evidence.journal import Journal, Recorder
from ivv.ops import journal
from ivv.ops.operation import Operation

JOURNAL = """\
2026-12-01T10:00:00.100+00:00 vdevice systemd[1]: camera-service.service: State 'stop-sigterm' timed out. Killing.
2026-12-01T10:00:00.200+00:00 vdevice systemd[1]: camera-service.service: Killing process 812 (python3) with signal SIGKILL.
2026-12-01T10:00:01.000+00:00 vdevice systemd[1]: camera-service.service: Scheduled restart job, restart counter is at 4.
2026-12-01T10:00:02.000+00:00 vdevice kernel: Out of memory: Killed process 990 (camera-service)
2026-12-01T10:00:03.000+00:00 vdevice systemd-coredump[7]: Process 991 (python3) of user 998 dumped core.
2026-12-01T10:00:04.000+00:00 vdevice systemd[1]: mediamtx.service: Failed with result 'exit-code'.
2026-12-01T10:00:05.000+00:00 vdevice camera-service[1000]: started with secret SECRET-PLANTED-7d1e
2026-12-01T10:00:06.000+00:00 vdevice systemd[1]: Started camera-service.service.
"""


def test_every_known_anomaly_is_named_once_per_line():
    kinds = [a.kind for a in journal.anomalies(JOURNAL)]
    assert kinds == ["stop timed out", "killed at stop", "restart loop", "out of memory", "core dump", "unit failed"]
    assert journal.anomalies("2026 x systemd[1]: Started camera-service.service.\n") == []
    assert journal.anomalies(None) == []


def test_excerpt_is_an_artifact_redacted_like_every_other(tmp_path):
    redact.register("SECRET-PLANTED-7d1e")
    stack = SimpleNamespace(journal=lambda since, until: JOURNAL)
    op = Operation("rollback", window=(1000.0, 1010.0))
    recorder = Recorder(Journal(tmp_path / "evidence.jsonl"), tmp_path, test="t")
    artifacts, details = journal.evidence_of(recorder, stack, op)
    text = (tmp_path / artifacts[0].path).read_text()
    assert "SECRET-PLANTED-7d1e" not in text and "[REDACTED]" in text and "State 'stop-sigterm'" in text
    assert [f["kind"] for f in details["findings"]] == ["journal"] * 6
    assert details["findings"][0]["text"].startswith("rollback: stop timed out:")


def test_no_window_or_no_journal_records_nothing(tmp_path):
    recorder = Recorder(Journal(tmp_path / "evidence.jsonl"), tmp_path, test="t")
    assert journal.evidence_of(recorder, SimpleNamespace(journal=lambda s, u: JOURNAL), Operation("x")) == ([], {})
