"""Operations interrupted: power cut at a cut point of an upgrade or rollback, and the link lost in the
middle of an upgrade.

Power cut: from its start state (N for an upgrade, N+1 for a rollback) with a recording running, the
operation runs detached and is frozen at the cut point; power is cut there. After the cut: the device
boots; the service is ready within the bound on exactly one of N or N+1 (the install tree is one
release's manifest, and the version the stack reports is that release); the data is unchanged; the
recording is playable up to the cut (less the stack's sync interval); the first valid frame is timed from
the cut; and the same operation run again converges to the intended release.

Link loss: an upgrade runs detached, the link goes down for a set time and comes back; the operation must
end by itself within the bound, either completed (N+1 answers) or rolled back by itself (N answers).
"""

from __future__ import annotations

import time

from ivv.errors import TargetUnreachable
from ivv.resilience.runner import DetachedRun
from ivv.resilience.subject import Subject, utc_now
from ivv.resilience.trial import Trial
from ivv.stack.base import Status

FIRST_FRAME = "res.first_frame"


def _controls(subject: Subject, trial: Trial, version: str) -> dict | None:
    """Positive controls before the operation: the tree is `version`'s manifest and a frame comes. The
    data read now is what "data kept" is judged against."""
    tree = subject.tree()
    if tree.version != version:
        trial.cannot_decide("positive control", f"before the operation the install tree is not {version}: {tree.text}")
        return None
    frame = subject.frames.grab()
    if not frame.valid:
        trial.cannot_decide("positive control", f"no valid frame before the operation: {frame.detail}",
                            criterion=FIRST_FRAME)
    subject.sync()      # "before" is what a cut cannot take away (the frame just taken included)
    return {"data": subject.data(), "frame": frame.summary()}


def note_failure_context(subject: Subject, trial: Trial, since: str) -> None:
    if any(trial.passed_for(c) is False for c in trial.criteria()):
        trial.state_after = subject.state()
        trial.journal = subject.journal(since)


def time_first_frame(subject: Subject, trial: Trial, since: float, setting: str, what: str) -> None:
    bound = trial.limits.threshold(FIRST_FRAME, setting)
    waited = subject.frames.first_valid(bound.value * 1.5 + 10)
    if trial.fact(f"a valid camera frame after {what}", waited.reached, expected=f"a frame within {bound.text}",
                  observed=waited.last, criterion=FIRST_FRAME):
        trial.measure(f"{what} to the first valid frame", time.monotonic() - since, setting=setting,
                      criterion=FIRST_FRAME)


def power_cut_trial(subject: Subject, checkpoints, power, limits, operation: str, cut, number: int,
                    criterion: str, seed: int | None = None) -> Trial:
    upgrade = operation == "upgrade"
    start_state, start, intended = ("N", subject.previous, subject.current) if upgrade else \
        ("N+1", subject.current, subject.previous)
    trial = Trial(criterion, number, cut.label, {"kind": "power_cut", "operation": operation, "cut": cut.as_dict(),
                                                 "state": start_state, "seed": seed}, limits)
    trial.restored = checkpoints.restore(start_state).as_dict()
    subject.stack.status = Status.UNKNOWN
    since = utc_now()
    before = _controls(subject, trial, start)
    if before is None:
        return trial
    recording = start_recording_for(subject, trial, FIRST_FRAME)
    run = DetachedRun(subject.device, operation, subject.commands(operation), subject.marker, cut.pause(),
                      subject.hold)
    run.start()
    settled = run.wait_settled(float(limits.setting("resilience.operation_timeout_s", 900)))
    trial.output = run.output(60)
    if settled.state != "paused":
        trial.cannot_decide("cut point", f"{cut.label} never came: the operation ended first ({settled.state}, exit "
                            f"{settled.status})")
        trial.cannot_decide("cut point", "no cut was made", criterion=FIRST_FRAME)
        return trial
    trial.timings["operation_s_at_cut"] = settled.t
    # held: the script waited at the marker, so the cut is exactly there; otherwise at or shortly after it
    trial.landed = {"label": settled.label, "t": settled.t, "frozen": settled.frozen, "held": bool(settled.held)}
    running = subject.recording_grows(recording) if recording else None
    cut_at = time.monotonic()
    try:
        trial.timings["power_on_to_up_s"] = power.cut()
    except TargetUnreachable as exc:
        trial.fact("the device boots after the cut", False, expected="SSH and systemd up again",
                   observed=str(exc)[:1500])
        return trial
    subject.reconnect()
    bound = limits.threshold(criterion)
    waited = subject.stack.wait_ready(bound.value * 1.5 + 30)
    if trial.fact("the service is ready again after the cut", waited.reached, expected=f"ready within {bound.text}",
                  observed=waited.last):
        trial.measure("power cut to ready", time.monotonic() - cut_at)
    tree, version = subject.tree(), subject.version()
    trial.fact(f"the install tree is exactly one release ({subject.previous} or {subject.current})",
               tree.version in (subject.previous, subject.current), expected=f"{subject.previous} or {subject.current}",
               observed=tree.text, holds=tree.as_dict()["holds"])
    trial.fact("the stack reports the release its install tree is", version == tree.version, expected=tree.version,
               observed=version)
    kept, diff = subject.data_kept(before["data"], subject.data())
    trial.fact("data sha256 unchanged by the cut", kept, expected=f"{len(before['data'])} files unchanged", observed=diff)
    time_first_frame(subject, trial, cut_at, "resilience.first_frame.power_cut_s", "the power cut")
    if recording is not None:
        seen = subject.judge_recording(recording)
        trial.fact("the recording interrupted by the cut is playable", seen["playable"], expected="ffprobe reads it",
                   observed=seen, criterion=FIRST_FRAME)
        if running and seen["playable"]:
            trial.measure("recording lost at the cut (recorded span less playable span)",
                          max(0.0, (cut_at - recording.started) - seen["seconds"]),
                          setting="resilience.first_frame.recording_loss_s", criterion=FIRST_FRAME)
        elif not running:
            trial.timings["recording_ended_before_cut"] = True
    converge(subject, trial, operation, intended)
    note_failure_context(subject, trial, since)
    return trial


def start_recording_for(subject: Subject, trial: Trial, criterion: str):
    """Start the profile's recording and let it run `resilience.recording_lead_s` once its file has bytes
    (within `resilience.recording_start_s`). A recording that cannot start, or never writes, decides nothing
    about `criterion` (None)."""
    limits = trial.limits
    try:
        recording = subject.start_recording()
    except Exception as exc:  # noqa: BLE001 - a recording that cannot start decides nothing about the cut
        trial.cannot_decide("recording", f"the profile's recording did not start: {exc}", criterion=criterion)
        return None
    if recording is None:
        return None
    bound = float(limits.setting("resilience.recording_start_s", 30))
    if subject.wait_writing(recording, bound) is False:
        trial.cannot_decide("recording", f"the recording {recording.filename} had no bytes on the device "
                            f"{bound:g} s after its start", criterion=criterion)
        return None
    time.sleep(float(limits.setting("resilience.recording_lead_s", 3)))
    return recording


def converge(subject: Subject, trial: Trial, operation: str, intended: str) -> None:
    """Run the same operation again (skipped after a failure when the gate says so)."""
    if trial.passed_for(trial.criterion) is False and not trial.limits.setting("resilience.converge_after_failure", True):
        trial.timings["converge"] = "skipped after a failed check (resilience.converge_after_failure: false)"
        return
    again = subject.stack.operation(operation, subject.current if operation == "upgrade" else None,
                                    subject.environment)
    version = subject.version()
    trial.fact(f"running the {operation} again converges to {intended}", again.succeeded and again.ready and
               version == intended, expected=f"{intended}, ready", observed={"version": version,
               "succeeded": again.succeeded, "ready": again.ready,
               "failed_step": (again.failed_step.command if again.failed_step else None)})
    if again.total_s is not None:
        trial.timings["converge_s"] = again.total_s


def link_loss_trial(subject: Subject, checkpoints, limits, number: int, criterion: str) -> Trial:
    down_s = float(limits.setting("resilience.link_loss.down_s", 20))
    after_s = float(limits.setting("resilience.link_loss.after_s", 2))
    trial = Trial(criterion, number, f"link down {down_s:g} s, {after_s:g} s into the upgrade",
                  {"kind": "link_loss", "operation": "upgrade", "down_s": down_s, "after_s": after_s, "state": "N"},
                  limits)
    trial.restored = checkpoints.restore("N").as_dict()
    subject.stack.status = Status.UNKNOWN
    since = utc_now()
    before = _controls(subject, trial, subject.previous)
    if before is None:
        return trial
    run = DetachedRun(subject.device, "upgrade", subject.commands("upgrade"), subject.marker, hold=subject.hold)
    run.start()
    time.sleep(after_s)
    subject.target.link(False)
    time.sleep(down_s)
    subject.target.link(True)
    back = time.monotonic()
    bound = limits.threshold(criterion)
    waited = run.wait_done(bound.value + float(limits.setting("resilience.link_loss.grace_s", 60)))
    state = run.state() if waited.reached else None
    trial.output = run.output(60) if waited.reached else ""
    if not trial.fact("the upgrade ended by itself (it does not hang)", waited.reached,
                      expected=f"done within {bound.text} of its start", observed=waited.last):
        trial.state_after, trial.journal = subject.state(), subject.journal(since)
        run.stop()
        return trial
    trial.measure(f"upgrade start to its end, link down {down_s:g} s", state.t)
    ready = subject.stack.wait_ready(float(limits.setting("resilience.link_loss.ready_s", 120)))
    tree, version = subject.tree(), subject.version()
    if state.status == 0:
        trial.fact(f"completed: {subject.current} answers ready", ready.reached and version == subject.current and
                   tree.version == subject.current, expected=subject.current,
                   observed={"version": version, "tree": tree.text, "ready": ready.reached})
    else:
        trial.fact(f"failed and rolled back by itself: {subject.previous} answers ready", ready.reached and
                   version == subject.previous and tree.version == subject.previous, expected=subject.previous,
                   observed={"exit": state.status, "version": version, "tree": tree.text, "ready": ready.reached})
    kept, diff = subject.data_kept(before["data"], subject.data())
    trial.fact("data sha256 unchanged", kept, expected=f"{len(before['data'])} files unchanged", observed=diff)
    time_first_frame(subject, trial, back, "resilience.first_frame.link_loss_s", "the link coming back")
    note_failure_context(subject, trial, since)
    return trial
