"""The stack's own rollback triggers, provoked on a release on probation, and the rollback it must make.

The profile declares them (`resilience.rollback_triggers`: name, kind, window and the kind's numbers).
From N+1 freshly upgraded, the suite provokes each: `crash_loop` kills the service's main process
`restarts` times, each after systemd restarted it; `failing_health` stops the media component (or runs
the trigger's `provoke` command) so the readiness endpoint answers not ready; `error_rate` needs the
trigger's `provoke` command. The stack must have rolled itself back to N, ready, by the end of the
declared window plus the gate's grace (`resilience.auto_rollback.grace_s`: the time a rollback itself
takes). A declared trigger the stack does not act on FAILs; a profile that declares none leaves the
criterion NOT VERIFIED.
"""

from __future__ import annotations

import time

from ivv.poll import wait_until
from ivv.resilience.cuts import note_failure_context, time_first_frame
from ivv.resilience.recovery import unit_facts
from ivv.resilience.subject import Subject, utc_now
from ivv.resilience.trial import Trial
from ivv.stack.base import Status


def declared(profile) -> list[dict]:
    return list((profile.data.get("resilience") or {}).get("rollback_triggers") or [])


def _kill_repeatedly(subject: Subject, times: int) -> list[dict]:
    unit = subject.stack.component("service").unit
    done = []
    for number in range(1, times + 1):
        pid = unit_facts(subject, unit).get("MainPID", "0")
        if not pid.isdigit() or pid == "0":
            done.append({"kill": number, "pid": pid, "note": "no main process (already rolled back or down)"})
            break
        subject.device.sh(f"kill -9 {int(pid)}", 30)
        done.append({"kill": number, "pid": int(pid), "t": time.monotonic()})
        if number < times:
            wait_until(lambda p=pid: (unit_facts(subject, unit).get("MainPID") not in ("0", p), None), 120, 0.5)
    return done


def provoke(subject: Subject, trigger: dict) -> dict:
    """Start the trigger's condition; what was done, for the evidence."""
    if trigger.get("provoke"):
        result = subject.stack.run(trigger["provoke"], 120)
        return {"provoke": trigger["provoke"], "exit": result.exit_status}
    kind = trigger["kind"]
    if kind == "crash_loop":
        return {"kills": _kill_repeatedly(subject, int(trigger.get("restarts", 3)))}
    if kind == "failing_health":
        result = subject.stack.control("media", "stop")
        return {"media": "stopped", "exit": result.exit_status}
    raise ValueError(f"trigger {trigger['name']}: kind {kind} needs a `provoke` command in the profile")


def undo(subject: Subject, trigger: dict) -> None:
    if trigger.get("undo"):
        subject.stack.run(trigger["undo"], 120)
    elif trigger["kind"] == "failing_health" and not trigger.get("provoke"):
        subject.stack.control("media", "start")


def auto_rollback_trial(subject: Subject, checkpoints, limits, trigger: dict, number: int, criterion: str) -> Trial:
    window = float(trigger["window_s"])
    trial = Trial(criterion, number, f"trigger {trigger['name']}: {trigger.get('description') or trigger['kind']}",
                  {"kind": "auto_rollback", "trigger": trigger["name"], "state": "N+1"}, limits)
    trial.restored = checkpoints.restore("N+1").as_dict()
    subject.stack.status = Status.UNKNOWN
    since = utc_now()
    if not (subject.version() == subject.current and subject.stack.ready().is_ready):
        trial.cannot_decide("positive control", f"before provoking, {subject.current} is not installed and ready")
        return trial
    if trigger["kind"] == "error_rate" and not trigger.get("provoke"):
        trial.cannot_decide("provoke", f"trigger {trigger['name']} (error_rate) names no `provoke` command")
        return trial
    started = time.monotonic()
    trial.timings["provoked"] = provoke(subject, trigger)
    grace = limits.threshold(criterion, "resilience.auto_rollback.grace_s")

    def rolled_back():
        version = subject.version()
        return version == subject.previous and subject.stack.ready().is_ready, version
    waited = wait_until(rolled_back, window + grace.value + 30, 2.0)
    elapsed = time.monotonic() - started
    if trial.fact(f"the stack rolled itself back to {subject.previous} (ready)", waited.reached,
                  expected=f"{subject.previous} ready within the declared {window:g} s + {grace.text}",
                  observed={"version": waited.last, "after_s": round(elapsed, 1)}):
        trial.timings["provoked_to_rolled_back_s"] = round(elapsed, 1)
        trial.measure(f"{trigger['name']}: rollback time beyond the declared {window:g} s window",
                      max(0.0, elapsed - window), setting="resilience.auto_rollback.grace_s")
        tree = subject.tree()
        trial.fact(f"the install tree is {subject.previous}", tree.version == subject.previous,
                   expected=subject.previous, observed=tree.text)
    undo(subject, trigger)
    time_first_frame(subject, trial, started, "resilience.first_frame.auto_rollback_s", f"provoking {trigger['name']}")
    note_failure_context(subject, trial, since)
    return trial
