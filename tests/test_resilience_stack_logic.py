"""The reference stack's own resilience logic, without a device: the watchdog's decisions (crash loop,
failing health, commit after probation), its settings, and the full-disk behaviour of the file store."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "deployment" / "stacks" / "camera-service" / "src"))

from camera_service.storage import FileStore, StorageError  # noqa: E402
from camera_service.watchdog import Probation, Settings  # noqa: E402

SHORT = Settings(probation_ready_s=10, crash_loop_restarts=3, crash_loop_window_s=30, failing_health_window_s=5)


def test_crash_loop_triggers_only_within_its_window():
    watch = Probation(SHORT)
    assert watch.observe(0, True, 0) is None
    assert watch.observe(1, None, 1) is None
    assert watch.observe(40, None, 2) is None          # the first restart fell out of the 30 s window
    assert watch.observe(41, None, 3) is None
    decision = watch.observe(42, None, 4)
    assert decision.action == "rollback" and decision.trigger == "crash_loop"
    assert "3 automatic restarts within 30 s" in decision.reason


def test_failing_health_needs_not_ready_answers_without_a_break():
    watch = Probation(SHORT)
    for t, ready in ((0, False), (3, False), (4, True), (5, False), (8, None), (9, False)):
        assert watch.observe(t, ready, 0) is None, t  # a ready answer at 4 s restarted the count
    decision = watch.observe(10, False, 0)
    assert (decision.action, decision.trigger) == ("rollback", "failing_health")


def test_ready_time_commits_the_release_and_survives_as_progress():
    watch = Probation(SHORT, ready_s=8)
    assert watch.observe(0, True, 0) is None
    assert watch.observe(1, True, 0) is None
    assert watch.observe(2.5, True, 0).action == "commit"


def test_settings_from_config_and_the_environment():
    section = {"probation_ready_s": 60, "crash_loop": {"restarts": 4, "window_s": 90}, "failing_health": {"window_s": 20}}
    settings = Settings.from_config(section, {"CAMERA_SERVICE_WATCHDOG_FAILING_HEALTH_WINDOW_S": "6"})
    assert (settings.probation_ready_s, settings.crash_loop_restarts, settings.crash_loop_window_s,
            settings.failing_health_window_s) == (60.0, 4, 90.0, 6.0)


def test_a_full_disk_is_refused_and_the_fault_knob_deletes_finished_recordings(tmp_path):
    store = FileStore(tmp_path / "rec", tmp_path / "snap", low_space_mb=10 ** 9)   # never enough space
    store.ensure_dirs()
    (tmp_path / "rec" / "old.mkv").write_bytes(b"x" * 10)
    with pytest.raises(StorageError) as err:
        store.check_space()
    assert err.value.reason == "no_space"
    assert store.health()["status"] == "unhealthy"
    assert (tmp_path / "rec" / "old.mkv").exists()
    with pytest.raises(StorageError):
        store.check_space(evict=True)               # delete_when_full: still no room, but the file is gone
    assert not (tmp_path / "rec" / "old.mkv").exists()


# -- the status field's positive control (ivv.resilience.recovery.Honesty), with stand-in answers -------
class _Reply:
    def __init__(self, result=None, error_code=None):
        self.result, self.error_code, self.ok = result, error_code, error_code is None


class _Answers:
    """A stack whose status method gives `answers` in turn; health and frames from fixed stand-ins."""

    def __init__(self, answers):
        from types import SimpleNamespace

        self.answers = list(answers)
        profile = SimpleNamespace(data={"resilience": {"disk_full": {
            "health": ["storage"], "status": {"method": "get_storage_info", "field": "low", "role": "viewer"}}}},
            ready_endpoint="ready")
        frame = SimpleNamespace(refused=True, detail="error -32004", valid=True)
        self.subject = SimpleNamespace(profile=profile, stack=self, frames=SimpleNamespace(grab=lambda: frame))

    def client(self, role, timeout):
        import contextlib

        answers = self.answers

        class Client:
            def call(self, method, params, timeout):
                return answers.pop(0)
        return contextlib.nullcontext(Client())


def _honesty(monkeypatch, answers):
    from ivv.resilience import recovery
    from ivv.resilience.trial import Trial

    health = iter([{"storage": "ready"}, {"storage": "not_ready"}])
    monkeypatch.setattr(recovery, "_statuses", lambda subject, names: next(health))
    limits = type("Limits", (), {"setting": lambda self, key, default=None: 2})()
    stack = _Answers(answers)
    trial = Trial("res.disk_full", 1, "filled", {}, limits)
    honesty = recovery.Honesty(stack.subject, trial, "disk_full", "full disk")
    honesty.during()
    return trial


def test_a_status_field_that_errors_before_the_failure_decides_nothing(monkeypatch):
    """An error before the disk fills (here -32003: the profile's role may not call the method) is a failed
    positive control: the status check is undecided, neither PASS nor FAIL."""
    trial = _honesty(monkeypatch, [_Reply(error_code=-32003), _Reply(error_code=-32003)])
    assert not [f for f in trial.facts if f.name.startswith("status ")]
    (status,) = [u for u in trial.undecided if u.name == "status"]
    assert "answered error -32003" in status.reason and "positive control failed" in status.reason


def test_a_status_field_that_answered_before_is_judged(monkeypatch):
    changed = _honesty(monkeypatch, [_Reply({"low": False}), _Reply({"low": True})])
    assert [f.passed for f in changed.facts if f.name.startswith("status ")] == [True]
    same = _honesty(monkeypatch, [_Reply({"low": False}), _Reply({"low": False})])
    assert [f.passed for f in same.facts if f.name.startswith("status ")] == [False]


# -- a recording counts from when its file was last seen empty (ivv.resilience.subject.wait_writing) ------
def _recorder(sizes):
    from types import SimpleNamespace

    from ivv.resilience.subject import Recording, Subject

    class Recorder(Subject):                      # only the recording helpers, no device
        recording_spec = {"dir": "/data/recordings"}

    subject = Recorder.__new__(Recorder)
    sizes = list(sizes)
    subject.recording_size = lambda recording: sizes.pop(0) if sizes else None
    subject.start_recording = lambda: Recording("rec.mkv", 0.0)
    limits = SimpleNamespace(setting=lambda key, default=None: {"resilience.recording_start_s": 0.3,
                                                                "resilience.recording_lead_s": 0}.get(key, default))
    return subject, limits


def test_the_recording_starts_when_its_file_was_last_seen_empty():
    from ivv.resilience.subject import Recording

    subject, _ = _recorder([None, 0, 4096])
    recording = Recording("rec.mkv", 0.0)
    assert subject.wait_writing(recording, bound_s=5, interval_s=0.01) is True
    assert recording.started > 0.0          # moved from the start call to the last empty look


def test_a_recording_that_never_writes_decides_nothing():
    from ivv.resilience.cuts import start_recording_for
    from ivv.resilience.trial import Trial

    subject, limits = _recorder([])
    trial = Trial("res.camera_loss", 1, "camera removed", {}, limits)
    assert start_recording_for(subject, trial, "res.camera_loss") is None
    (undecided,) = trial.undecided
    assert "rec.mkv had no bytes on the device 0.3 s after its start" in undecided.reason
    written, _ = _recorder([0, 10])
    assert start_recording_for(written, Trial("res.camera_loss", 1, "camera removed", {}, limits),
                               "res.camera_loss") is not None
