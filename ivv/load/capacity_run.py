"""The capacity search in the load process: one Locust run whose open-model rate changes step by step.

The connections are opened once; then for each rate the `Search` asks for, the controller publishes a
step on the `StepClock` (the users send at that rate from its start to its end), waits for the calls
still in flight (bounded by the call timeout), judges the step on the calls due after its warm-up and
pauses briefly before the next, so one step's backlog never leaks into the next. Imported only in the
load process (gevent); the plan and the judging rules are in `ivv.load.capacity`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import gevent

from ivv.evidence.thresholds import Threshold
from ivv.load.capacity import GENERATOR, OVER, SETTLE_S, CapacitySettings, Search, Step, judge
from ivv.load.figures import load_values
from ivv.load.recorder import Recorder
from ivv.load.runner import finish, make_environment, start_csv, wait_for_drain
from ivv.load.spec import LoadSpec
from ivv.load.stats import summarize

LEAD_S = 0.2            # a step is published this long before it starts, so every user starts on time
CONNECT_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ClockStep:
    rate: float
    start: float        # perf_counter
    end: float


class StepClock:
    """The steps the users follow, published one at a time by the controller; `finish` ends them."""

    def __init__(self, deadline: float):
        self.published: list[ClockStep] = []
        self.done = False
        self.deadline = deadline

    def publish(self, rate: float, start: float, end: float) -> ClockStep:
        step = ClockStep(rate, start, end)
        self.published.append(step)
        return step

    def finish(self) -> None:
        self.done = True

    def steps(self):
        """Each published step in order, waiting for the next until `finish` or the deadline."""
        index = 0
        while True:
            while index >= len(self.published) and not self.done and time.perf_counter() < self.deadline:
                gevent.sleep(0.01)
            if index >= len(self.published):
                return
            yield self.published[index]
            index += 1


def run_search(spec: LoadSpec, token: str | None, out_dir: Path) -> dict:
    """Connect the users, step through the search, and write the run's files with the step table."""
    plan = spec.steps or {}
    settings = CapacitySettings.from_settings(plan.get("settings"), spec.source)
    limits = {c: Threshold.from_dict(t) for c, t in plan.get("limits", {}).items()}
    minimum = Threshold.coerce(plan.get("minimum"))
    env, user = make_environment(spec, token)
    clock = StepClock(deadline=time.perf_counter() + spec.duration_s + spec.timeout_s)
    user.clock = clock
    recorder = Recorder(env)
    runner = env.create_local_runner()
    writer = start_csv(env, out_dir)
    started, cpu0 = time.time(), time.process_time()
    user.end_at = started + spec.duration_s + CONNECT_TIMEOUT_S + spec.timeout_s
    runner.start(spec.users, spawn_rate=spec.spawn_rate)
    _wait_ready(runner, recorder, spec.users, user.connects_first)
    search = Search(settings, minimum)
    began, cost = time.monotonic(), None
    while (planned := search.next_step(time.monotonic() - began, cost)) is not None:
        t0 = time.monotonic()
        rate, phase = planned
        search.record(_run_step(clock, recorder, settings, limits, spec, len(search.steps), rate, phase))
        cost = max(cost or 0.0, time.monotonic() - t0)
    clock.finish()
    wait_for_drain(spec.timeout_s, spec)
    ended, cpu_s = time.time(), time.process_time() - cpu0
    runner.quit()
    capacity = {"settings": asdict(settings), "limits": {c: t.to_dict() for c, t in limits.items()},
                "minimum": minimum.to_dict() if minimum else None, "steps": [s.to_dict() for s in search.steps],
                "conclusion": search.conclusion().to_dict()}
    return finish(env, spec, recorder, started, ended, out_dir, writer, workers=0,
                  extra={"generator_cpu_s": cpu_s, "capacity": capacity})


def _wait_ready(runner, recorder: Recorder, users: int, connects_first: bool) -> None:
    """Until every user is spawned and, where users connect first, has opened (or failed to open) its
    connection: set-up is not a step."""
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    while time.monotonic() < deadline:
        connected = recorder.connections["opened"] + recorder.connections["failed"] >= users
        if runner.user_count >= users and (connected or not connects_first):
            return
        gevent.sleep(0.05)


def _run_step(clock: StepClock, recorder: Recorder, settings: CapacitySettings, limits: dict, spec: LoadSpec,
              index: int, rate: float, phase: str) -> Step:
    start = time.perf_counter() + LEAD_S
    wall_offset = time.time() - time.perf_counter()
    clock.publish(rate, start, start + settings.step_s)
    cpu0 = time.process_time()
    gevent.sleep(max(0.0, start + settings.step_s - time.perf_counter()))
    wait_for_drain(spec.timeout_s, spec)
    generator_cpu_s = time.process_time() - cpu0
    wall_start = start + wall_offset
    wall_end = wall_start + settings.step_s
    judged_from = wall_start + settings.warmup_s
    calls = [c for c in recorder.calls if judged_from <= c[0] < wall_end]
    step = Step(index, rate, phase, started=wall_start, ended=wall_end, judged_from=judged_from)
    step.figures = step_figures(calls, judged_from, wall_end)
    step.figures["generator_cpu_pct"] = round(100.0 * generator_cpu_s / max(1e-9, time.time() - wall_start), 1)
    step.verdict, step.reasons = judge_calls(step.figures, calls, limits, settings.max_send_lag_p99_ms)
    gevent.sleep(SETTLE_S)
    return step


def step_figures(calls: list[tuple], start: float, end: float) -> dict:
    """The step's figures on its judged window: rates, latency percentiles, errors, send lag."""
    s = summarize(calls, [], {}, start, end)
    lat = s["latency"]
    return {"calls": s["requests"], "sent": s["requests"] - s["not_sent"], "ok": s["ok"],
            "achieved_rps": round(s["ok"] / max(1e-9, end - start), 2),
            "p50_ms": lat.get("p50_ms"), "p95_ms": lat.get("p95_ms"), "p99_ms": lat.get("p99_ms"),
            "max_ms": lat.get("max_ms"), "error_pct": round(100.0 * s["error_rate"], 3) if calls else None,
            "errors": s["errors"], "send_lag_p99_ms": s["send_lag"].get("p99_ms"),
            "values": {c: list(v) for c, v in load_values(s).items()}}


def judge_calls(figures: dict, calls: list[tuple], limits: dict, max_lag_ms: float) -> tuple[str, list[str]]:
    """A step with calls due but none sent (no connection) is the stack's failure, not the generator's."""
    if not calls:
        return GENERATOR, ["limited by the load generator: no call was due in the judged window"]
    if figures["sent"] == 0:
        return OVER, [f"none of {figures['calls']} calls could be sent ({', '.join(figures['errors']) or 'no connection'})"]
    values = {c: tuple(v) for c, v in figures["values"].items()}
    return judge(values, limits, figures["send_lag_p99_ms"], max_lag_ms)
