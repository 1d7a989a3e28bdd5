"""The stack recovering by itself: a crashed component, a lost camera, a full data partition.

- Crash: kill -9 of a component's main process; its supervisor must bring it back to ready within the
  bound, restarted once (systemd's NRestarts), and the first valid frame is timed from the kill.
- Camera loss (the camera unplugged mid-recording) and disk full (the data partition filled to its last
  MiB): while it lasts the stack must say so honestly: the profile's health endpoints and status field
  (`resilience.camera_loss` / `disk_full`) change from what they said just before, and the frame call
  answers with an error, not a frame or a hang. No finished file is lost, and when the camera or the
  space returns the stack is ready again within the bound and gives a valid frame.
"""

from __future__ import annotations

import shlex
import time

from ivv.health import readiness
from ivv.poll import wait_until
from ivv.resilience.cuts import note_failure_context, start_recording_for, time_first_frame
from ivv.resilience.subject import Subject, utc_now
from ivv.resilience.trial import Trial

FILL_FILE = "ivv-disk-fill.bin"


def unit_facts(subject: Subject, unit: str) -> dict:
    out = subject.device.sh(f"systemctl show -p MainPID -p NRestarts -p ActiveState {shlex.quote(unit)}", 30).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def crash_trial(subject: Subject, limits, component: str, number: int, criterion: str) -> Trial:
    comp = subject.stack.component(component)
    trial = Trial(criterion, number, f"kill -9 of {comp.label}", {"kind": "crash", "component": component,
                                                                    "state": "N"}, limits)
    since = utc_now()
    if not subject.stack.ready().is_ready or comp.kind != "systemd":
        trial.cannot_decide("positive control", f"before the kill the stack is not ready, or {comp.label} has no "
                            "supervisor ivv can read")
        return trial
    before = unit_facts(subject, comp.unit)
    pid = before.get("MainPID", "0")
    killed = subject.device.sh(f"kill -9 {int(pid)}", 30) if pid.isdigit() and pid != "0" else None
    started = time.monotonic()
    if killed is None or not killed.succeeded:
        trial.cannot_decide("kill", f"no main process to kill ({comp.unit} MainPID={pid})")
        return trial
    bound = limits.threshold(criterion)

    def back():
        now = unit_facts(subject, comp.unit)
        ok = now.get("ActiveState") == "active" and now.get("MainPID") not in ("0", pid, None)
        return ok and subject.stack.ready().is_ready, now
    waited = wait_until(back, bound.value * 1.5 + 10, 0.5)
    if trial.fact(f"its supervisor brings {component} back to ready", waited.reached,
                  expected=f"a new {comp.unit} process and ready within {bound.text}", observed=waited.last):
        trial.measure(f"kill -9 of {component} to ready", time.monotonic() - started)
    after = unit_facts(subject, comp.unit)
    restarts = int(after.get("NRestarts", "0") or 0) - int(before.get("NRestarts", "0") or 0)
    trial.timings["restarts"] = restarts
    trial.fact(f"{comp.unit} restarted by systemd exactly once", restarts == 1, expected="NRestarts +1",
               observed=f"NRestarts {before.get('NRestarts')} -> {after.get('NRestarts')}")
    time_first_frame(subject, trial, started, "resilience.first_frame.crash_s", f"the kill of {component}")
    note_failure_context(subject, trial, since)
    if not waited.reached:
        subject.stack.control(component, "start")       # leave the device usable for the next trial
    return trial


# -- honest reporting ------------------------------------------------------------------------------
def _statuses(subject: Subject, names: list[str]) -> dict[str, str]:
    out = {}
    for name in names:
        answer = readiness.probe(subject.stack.health_url(name), subject.profile.health_endpoint(name), timeout=5)
        out[name] = answer.body_status or (f"HTTP {answer.status_code}" if answer.answered else "no answer")
    return out


def _field(subject: Subject, spec: dict | None) -> tuple[object, str | None]:
    """(the status field's value, None), or (what came instead, "error"/"no answer")."""
    if not spec:
        return None, None
    try:
        with subject.stack.client(spec.get("role"), timeout=15) as client:
            reply = client.call(spec["method"], dict(spec.get("params") or {}), timeout=15)
    except Exception as exc:  # noqa: BLE001 - no answer is an observation
        return f"no answer: {type(exc).__name__}", "no answer"
    if not reply.ok:
        return f"error {reply.error_code}", "error"
    return (reply.result or {}).get(spec["field"]), None


class Honesty:
    """What the stack says about itself, before and while a failure lasts (profile `resilience.<key>`)."""

    def __init__(self, subject: Subject, trial: Trial, key: str, what: str):
        self.subject, self.trial, self.what = subject, trial, what
        self.spec = dict((subject.profile.data.get("resilience") or {}).get(key) or {})
        self.health = list(self.spec.get("health") or [subject.profile.ready_endpoint])
        self.before_health = _statuses(subject, self.health)
        self.before_field, self.before_problem = _field(subject, self.spec.get("status"))
        self.key = key

    def _status_decidable(self) -> bool:
        """The status field's positive control: it answered before the failure. An error then (a wrong
        role in the profile, a method the stack lacks) makes "it changed" meaningless, in either direction."""
        if not self.spec.get("status"):
            self.trial.cannot_decide("status", f"the profile's resilience.{self.key}.status names no status field")
            return False
        if self.before_problem:
            field = self.spec["status"]
            self.trial.cannot_decide("status", f"before the {self.what}, {field['method']} (role "
                                     f"{field.get('role') or 'default'}) answered {self.before_field}, not its "
                                     f"field {field['field']!r}: the positive control failed, so its answer "
                                     f"during the {self.what} proves nothing")
            return False
        return True

    def controls_ok(self) -> bool:
        frame = self.subject.frames.grab()
        if not (self.subject.stack.ready().is_ready and frame.valid):
            self.trial.cannot_decide("positive control", f"before the {self.what} the stack is not ready or gives no "
                                     f"frame ({frame.detail}), so what it says during it proves nothing")
            return False
        return True

    def during(self) -> None:
        trial, bound = self.trial, float(self.trial.limits.setting("resilience.report_s", 30))
        def changed():
            seen = _statuses(self.subject, self.health)
            return all(v != self.before_health[k] for k, v in seen.items()), seen
        waited = wait_until(changed, bound, 1.0)
        for name in self.health:
            seen = (waited.last or {}).get(name)
            trial.fact(f"health endpoint {name} reports the {self.what}", seen != self.before_health[name],
                       expected=f"not {self.before_health[name]!r} (its answer before) within {bound:g} s",
                       observed=seen)
        if self._status_decidable():
            now, _ = _field(self.subject, self.spec["status"])
            field = self.spec["status"]
            trial.fact(f"status {field['method']}.{field['field']} reports the {self.what}", now != self.before_field,
                       expected=f"not {self.before_field!r} (before)", observed=now)
        frame = self.subject.frames.grab()
        trial.fact(f"the caller gets an error for a frame during the {self.what}", frame.refused,
                   expected="an error reply (not a frame, not silence)", observed=frame.detail)

    def field_back(self) -> None:
        if self.spec.get("status") and not self.before_problem:
            now, _ = _field(self.subject, self.spec["status"])
            self.trial.fact(f"status {self.spec['status']['field']} back to {self.before_field!r}",
                            now == self.before_field, expected=self.before_field, observed=now)


def camera_loss_trial(subject: Subject, limits, number: int, criterion: str) -> Trial:
    trial = Trial(criterion, number, "camera removed mid-recording", {"kind": "camera_loss", "state": "N"}, limits)
    since = utc_now()
    honesty = Honesty(subject, trial, "camera_loss", "camera loss")
    if not honesty.controls_ok():
        return trial
    data = subject.data()
    recording = start_recording_for(subject, trial, criterion)
    subject.stack.camera(False)
    try:
        honesty.during()
    finally:
        subject.stack.camera(True)
    back = time.monotonic()
    _recovered(subject, trial, back, criterion, "camera back")
    honesty.field_back()
    time_first_frame(subject, trial, back, "resilience.first_frame.camera_loss_s", "the camera coming back")
    kept, diff = subject.data_kept(data, subject.data())
    trial.fact("no finished file lost", kept, expected=f"{len(data)} files unchanged", observed=diff)
    if recording is not None:
        seen = subject.judge_recording(recording)
        trial.fact("the recording cut short by the camera loss is kept and playable", seen["playable"],
                   expected="ffprobe reads it", observed=seen)
    note_failure_context(subject, trial, since)
    return trial


def _recovered(subject: Subject, trial: Trial, since: float, criterion: str, what: str) -> None:
    bound = trial.limits.threshold(criterion)
    waited = subject.stack.wait_ready(bound.value * 1.5 + 10)
    if trial.fact(f"ready again after the {what}", waited.reached, expected=f"ready within {bound.text}",
                  observed=waited.last):
        trial.measure(f"{what} to ready", time.monotonic() - since)


def fill_disk(subject: Subject, leave_mb: float) -> dict:
    """Fill the data partition (of the first data folder) to its last `leave_mb` MiB for the service."""
    folder = shlex.quote(subject.profile.data_dirs[0])
    line = subject.device.sh(f"df --output=avail,target -B1 {folder} | tail -n 1", 30).stdout.split()
    avail, mount = int(line[0]), line[1]
    path = f"{mount.rstrip('/')}/{FILL_FILE}"
    size = max(0, avail - int(leave_mb * 1024 * 1024))
    result = subject.device.sh(f"fallocate -l {size} {shlex.quote(path)} && sync", 300)
    return {"path": path, "mount": mount, "available_before": avail, "filled": size, "ok": result.succeeded,
            "error": result.stderr.strip()[-300:]}


def disk_full_trial(subject: Subject, limits, number: int, criterion: str) -> Trial:
    leave = float(limits.setting("resilience.disk_full.leave_mb", 1))
    trial = Trial(criterion, number, f"data partition filled to its last {leave:g} MiB",
                  {"kind": "disk_full", "state": "N", "leave_mb": leave}, limits)
    since = utc_now()
    honesty = Honesty(subject, trial, "disk_full", "full disk")
    if not honesty.controls_ok():
        return trial
    data = subject.data()
    fill = fill_disk(subject, leave)
    try:
        if not fill["ok"]:
            trial.cannot_decide("fill", f"the data partition could not be filled: {fill['error']}")
            return trial
        trial.timings["filled_bytes"] = fill["filled"]
        honesty.during()
    finally:
        subject.device.sh(f"rm -f {shlex.quote(fill['path'])} && sync", 120)
    back = time.monotonic()
    _recovered(subject, trial, back, criterion, "space back")
    honesty.field_back()
    time_first_frame(subject, trial, back, "resilience.first_frame.disk_full_s", "the space coming back")
    kept, diff = subject.data_kept(data, subject.data())
    trial.fact("no finished file lost", kept, expected=f"{len(data)} files unchanged", observed=diff)
    note_failure_context(subject, trial, since)
    return trial
