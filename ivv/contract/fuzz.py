"""Bad-input fuzzing of a JSON-RPC service from its contract, with hypothesis doing generation and shrinking.

For each method the cases of `ivv.contract.fuzzcases` are sent: the deterministic coverage pass first,
then hypothesis draws at random within the budget. Every frame must get a documented error (or a valid
result) without the service crashing, hanging, dropping the connection, leaking a traceback or a path,
or writing outside its data folders. A failure is shrunk by hypothesis to a minimal frame, and the frame
is replayed on a fresh (recovered) service to show it reproduces.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hseed
from hypothesis.errors import Flaky, FlakyFailure

from ivv.contract.document import Method
from ivv.contract.fuzzcases import FuzzCase, coverage_cases, fuzz_cases
from ivv.contract.outcome import (
    ACCEPTED_INVALID,
    INTERNAL,
    INVALID_RESULT,
    NOT_A_RESPONSE,
    NOT_FOUND,
    UNDOCUMENTED,
    judge,
)
from ivv.contract.params import valid_params
from ivv.contract.probe import Probe, harvest
from ivv.evidence.facts import Fact
from ivv.rpc.auth import redact_text
from ivv.rpc.client import RpcClient, RpcConnectError, RpcConnectionLost, RpcError
from ivv.security.leaks import reply_leaks

ACCEPTABLE_CLOSE_CODES = (1008, 1009)  # policy violation, message too big: a documented refusal
FOCUS_EXAMPLES = 200  # a focused run must meet the coverage failure again to shrink it (time-bounded anyway)

@dataclass
class FuzzFailure:
    method: str
    mutation: str
    kind: str  # crash | hang | connection-drop | undocumented-error | internal-error | leak | accepted-invalid
    #            | invalid-result | invalid-reply | wrote-outside
    detail: str
    frame: str  # minimal reproducer: the exact JSON frame
    reply: str = ""
    reproduced: bool | None = None
    reproduce_detail: str = ""
    shrunk: bool = True

    def as_dict(self) -> dict:
        return {"method": self.method, "mutation": self.mutation, "kind": self.kind,
                "detail": redact_text(self.detail), "frame": redact_text(self.frame),
                "reply": redact_text(self.reply), "reproduced": self.reproduced,
                "reproduce_detail": self.reproduce_detail, "shrunk": self.shrunk}


@dataclass
class FuzzReport:
    examples: int = 0
    seconds: float = 0.0
    per_method: dict[str, int] = field(default_factory=dict)
    failures: list[FuzzFailure] = field(default_factory=list)
    mutations: dict[str, int] = field(default_factory=dict)
    writes_outside: list[str] = field(default_factory=list)

    def facts(self) -> list[Fact]:
        """That fuzzing ran (examples per method), one FAIL per failure with its minimal reproducer, and
        the count of failures."""
        summary = (f"{self.examples} examples over {len(self.per_method)} methods in {self.seconds:.1f} s; "
                   f"mutations {self.mutations}")
        out = [Fact("fuzzing ran", self.examples > 0, "> 0 examples", summary,
                    details={"table": {"title": "examples per method", "columns": ["method", "examples"],
                                       "rows": [[m, n] for m, n in self.per_method.items()]}})]
        for f in self.failures:
            out.append(Fact(f"fuzz {f.method}: {f.kind}", False, "a documented error or a valid result", f.detail,
                            exchanges=(f"minimal frame ({len(f.frame)} chars): {redact_text(f.frame)}\n"
                                       f"reply: {redact_text(f.reply)}\n{f.reproduce_detail}",),
                            details={"minimal_frame": redact_text(f.frame[:4000]), "frame_chars": len(f.frame),
                                     "mutation": f.mutation, "reply": redact_text(f.reply[:2000]), "shrunk": f.shrunk,
                                     "reproduced": f.reproduced, "reproduce": f.reproduce_detail}))
        out.append(Fact("no fuzz failure", not self.failures, "0 failures", f"{len(self.failures)} failure(s)",
                        exchanges=(json.dumps([f.as_dict() for f in self.failures], indent=2),) if self.failures else (),
                        details={"table": {"title": "fuzz failures (minimal reproducers)",
                                           "columns": ["method", "kind", "detail", "minimal frame", "reproduced"],
                                           "rows": [[f.method, f.kind, f.detail[:200], redact_text(f.frame[:300]),
                                                     str(f.reproduced)] for f in self.failures]}}))
        return out


class _Violation(AssertionError):
    def __init__(self, kind: str, detail: str, frame: str, reply: str = ""):
        super().__init__(f"{kind}: {detail}")
        self.kind, self.detail, self.frame, self.reply = kind, detail, frame, reply


class _ServiceGone(Exception):
    """The service did not come back after a crash: stop fuzzing."""


# -- the oracle --------------------------------------------------------------------------------------
class _Runner:
    """Sends one case and judges the reply; keeps one admin session, recovers a crashed service."""

    def __init__(self, probe: Probe, call_timeout: float, role: str):
        self.probe, self.call_timeout, self.role = probe, call_timeout, role
        self.cli: RpcClient | None = None
        self.count = 0
        self.mutations: dict[str, int] = {}

    def _session(self) -> RpcClient:
        if self.cli is None or not self.cli.connected or self.count % 200 == 0:
            if self.cli is not None:
                self.cli.close()
            try:
                self.cli = self.probe.role_session(self.role)
            except RpcError:
                self.ensure_up()
                self.cli = self.probe.role_session(self.role)
        return self.cli

    def ensure_up(self) -> None:
        if self.probe.is_alive():
            return
        if self.probe.recover is not None:
            self.probe.recover()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.probe.is_alive():
                return
            time.sleep(0.3)
        raise _ServiceGone(f"{self.probe.url} did not come back within 30 s")

    def close(self) -> None:
        if self.cli is not None:
            self.cli.close()
            self.cli = None

    def send(self, case: FuzzCase) -> None:
        """Raise _Violation when the service misbehaves on this frame."""
        self.count += 1
        self.mutations[case.mutation] = self.mutations.get(case.mutation, 0) + 1
        try:
            cli = self._session()
        except RpcError as exc:
            raise _Violation("crash", f"no session before sending: {exc}", case.frame) from exc
        watch = self.probe.canaries if case.mutation in ("path_traversal", "replay") else None
        before = watch() if watch else {}
        self._send(cli, case)
        if watch:
            after = watch()
            written = sorted(p for p in after if before.get(p) != after[p])
            if written:
                raise _Violation("wrote-outside", f"wrote outside the data folders: {written}", case.frame)

    def _send(self, cli: RpcClient, case: FuzzCase) -> None:
        rate = self.probe.rate_codes
        for attempt in range(6):
            try:
                ex = cli.send_raw(case.frame, timeout=self.call_timeout, note=case.mutation)
            except RpcConnectionLost as exc:
                self.cli = None
                close = exc.close_code
                alive = self.probe.is_alive()
                if not alive:
                    raise _Violation("crash", f"connection lost and the service is down ({exc})", case.frame) from exc
                if close in ACCEPTABLE_CLOSE_CODES:
                    return
                raise _Violation("connection-drop", f"connection dropped (close code {close}) while the service "
                                 "stayed up", case.frame) from exc
            if ex.outcome == "timeout":
                self.close()
                detail = f"no reply within {self.call_timeout:g} s"
                if not self.probe.is_alive():
                    raise _Violation("crash", detail + " and the service is down", case.frame)
                raise _Violation("hang", detail, case.frame)
            reply = ex.received[0] if ex.received else ""
            frame = ex.replies()[0] if ex.received else None
            if isinstance(frame, dict) and isinstance(frame.get("error"), dict) \
                    and frame["error"].get("code") in rate and attempt < 5:
                time.sleep(0.25 * (attempt + 1))
                continue
            self._judge(case, frame, reply)
            return

    def _judge(self, case: FuzzCase, frame: Any, reply: str) -> None:
        contract = self.probe.contract
        self.probe.observed.note(case.method, frame)
        leaks = reply_leaks(frame, reply, sent=case.frame)
        if leaks:
            raise _Violation("leak", f"reply shows internals: {', '.join(leaks)}", case.frame, reply)
        success = isinstance(frame, dict) and "result" in frame and "error" not in frame
        outcome = judge(contract, case.method, frame, params_valid=not success or _params_valid(contract, case))
        if not outcome.passed:
            raise _Violation(FAILURE_KINDS[outcome.kind], outcome.detail, case.frame, reply)


FAILURE_KINDS = {NOT_A_RESPONSE: "invalid-reply", INTERNAL: "internal-error", NOT_FOUND: "undocumented-error",
                 UNDOCUMENTED: "undocumented-error", ACCEPTED_INVALID: "accepted-invalid",
                 INVALID_RESULT: "invalid-result"}


def _params_valid(contract, case: FuzzCase) -> bool:
    """Whether the frame sent carried params the contract accepts (non-finite numbers count as valid:
    JSON has no NaN, so a service may read them as it likes)."""
    try:
        sent = json.loads(case.frame)
        params = sent.get("params") if isinstance(sent, dict) else None
        return isinstance(sent, dict) and (not contract.validate_params(case.method, {} if params == [] else params)
                                           or _non_finite(params))  # [] = no positional params
    except (ValueError, RecursionError):
        return False  # not JSON, or too deep to read: no valid params in it


def _non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value) or math.isinf(value)
    if isinstance(value, dict):
        return any(_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_non_finite(v) for v in value)
    return False


def _coverage_pass(m: Method, example, runner: _Runner, state: dict, start: float,
                   budget: float) -> tuple[str, str | None] | None:
    """Send `coverage_cases`; the (mutation, param) of the first violation (kept in `state`), or None."""
    for case in coverage_cases(m, example):
        if time.monotonic() - start > budget:
            return None
        runner.ensure_up()
        state["n"] += 1
        try:
            runner.send(case)
        except _Violation as violation:
            state["first"] = (case, violation)
            return case.mutation, case.param
    return None


def _method_run(m: Method, example, per_method: int, budget: float, shrink_seconds: float, runner: _Runner,
                state: dict, start: float, focus: tuple[str, str | None] | None = None):
    """The hypothesis test for one method: send each case, raise on a violation, respect the time budget.
    With `focus` (a failure the coverage pass met) it generates that mutation on that param only, with
    enough examples to meet it again: a share of the random budget (a few examples a method) would stop
    before the failure is drawn, and the shrink time bounds the run instead."""

    @settings(max_examples=per_method if focus is None else max(per_method, FOCUS_EXAMPLES), database=None, deadline=None,
              phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck),
              report_multiple_bugs=False, print_blob=False)
    @given(fuzz_cases(m, example, *(focus or ())))
    def run(case: FuzzCase) -> None:
        elapsed = time.monotonic() - start
        if state["first"] is None and elapsed > budget:
            return  # out of time for this method: stop generating
        if state["first"] is not None and elapsed > budget + shrink_seconds:
            return  # out of time for shrinking: keep the smallest failure so far
        runner.ensure_up()
        state["n"] += 1
        try:
            runner.send(case)
        except _Violation as violation:
            state["last"] = (case, violation)
            if state["first"] is None:
                state["first"] = (case, violation)
            state.setdefault("kinds", {}).setdefault(violation.kind, (case, violation))
            raise

    return run


# -- the driver --------------------------------------------------------------------------------------
def fuzz(probe: Probe, *, max_examples: int = 200, seconds: float = 60.0, call_timeout: float = 5.0,
         methods: list[str] | None = None, shrink_seconds: float = 30.0, seed: int | None = None,
         fs_snapshot: Callable[[], dict[str, Any]] | None = None, stop_on_crash: bool = True) -> FuzzReport:
    """Fuzz every method (or ``methods``) within the example and time budget; one failure per method,
    shrunk to a minimal frame and replayed on a recovered service to confirm it reproduces."""
    contract = probe.contract
    names = [n for n in (methods or list(contract.methods)) if n in contract.methods]
    report = FuzzReport()
    per_method = max(1, max_examples // max(1, len(names)))
    budget = seconds / max(1, len(names))
    runner = _Runner(probe, call_timeout, contract.roles[-1])
    harvest(probe)
    before = fs_snapshot() if fs_snapshot else None
    t_all = time.monotonic()
    try:
        for name in names:
            m = contract.method(name)
            example = valid_params(m, probe.observed)
            start = time.monotonic()
            state: dict[str, Any] = {"last": None, "first": None, "n": 0}

            stop = False
            try:
                focus = _coverage_pass(m, example, runner, state, start, budget)
                run = _method_run(m, example, per_method, budget, shrink_seconds, runner, state, start, focus)
                if seed is not None:
                    run = hseed(seed)(run)
                run()
                if focus is not None:  # hypothesis never met it again: report the coverage frame as it was
                    case, v = state["first"]
                    report.failures.append(FuzzFailure(name, case.mutation, v.kind, v.detail, case.frame, v.reply,
                                                       shrunk=False))
                    stop = v.kind == "crash" and stop_on_crash
            except _ServiceGone as exc:
                case, v = state["last"] or state["first"] or (None, None)
                report.failures.append(FuzzFailure(name, case.mutation if case else "?", "crash",
                                                   f"{v.detail if v else ''}; {exc}", case.frame if case else "",
                                                   shrunk=False))
                break
            except (_Violation, Flaky, FlakyFailure, BaseExceptionGroup) as exc:
                if (state["last"] or state["first"]) is None:
                    raise  # not a violation of the service: an error of the harness, shown as it is
                case, v = state["last"] or state["first"]
                # Flaky: shrinking stopped (its time ran out, or the failure did not repeat); the last
                # failure met is the smallest so far when it is of the same kind as the first.
                shrunk = not isinstance(exc, (Flaky, FlakyFailure, BaseExceptionGroup))
                if not shrunk and v.kind != state["first"][1].kind:
                    case, v = state["first"]
                report.failures.append(FuzzFailure(name, case.mutation, v.kind, v.detail, case.frame, v.reply,
                                                   shrunk=shrunk))
                for kind, (other, ov) in state.get("kinds", {}).items():  # other bugs met on the way
                    if kind != v.kind:
                        report.failures.append(FuzzFailure(name, other.mutation, kind, ov.detail, other.frame,
                                                           ov.reply, shrunk=False))
                stop = v.kind == "crash" and stop_on_crash
            report.per_method[name] = state["n"]
            report.examples += state["n"]
            if stop:
                break  # every later result would be about restarts, not about input
        for failure in report.failures:
            _reproduce(runner, failure)
    finally:
        runner.close()
    report.seconds = time.monotonic() - t_all
    report.mutations = dict(runner.mutations)
    if fs_snapshot is not None and before is not None:
        after = fs_snapshot()
        report.writes_outside = sorted(p for p in after if before.get(p) != after[p])
        if report.writes_outside:
            report.failures.append(FuzzFailure("*", "*", "wrote-outside",
                                               f"files changed outside the data folders: {report.writes_outside[:10]}",
                                               "", shrunk=False))
    return report


def _reproduce(runner: _Runner, failure: FuzzFailure) -> None:
    """Replay the minimal frame once on a fresh session (the service recovered first)."""
    try:
        runner.close()
        runner.ensure_up()
        runner.send(FuzzCase(failure.method, failure.mutation, failure.frame))
    except _Violation as v:
        failure.reproduced = v.kind == failure.kind
        failure.reproduce_detail = f"replay: {v.kind}: {v.detail}"
        return
    except (_ServiceGone, RpcConnectError) as exc:
        failure.reproduced = None
        failure.reproduce_detail = f"replay impossible: {exc}"
        return
    failure.reproduced = False
    failure.reproduce_detail = "replay: the service answered correctly"


def replay(probe: Probe, frame: str, method: str, call_timeout: float = 5.0) -> str | None:
    """Send one recorded reproducer frame; returns the violation kind, or None when the service coped."""
    runner = _Runner(probe, call_timeout, probe.contract.roles[-1])
    try:
        runner.ensure_up()
        runner.send(FuzzCase(method, "replay", frame))
        return None
    except _Violation as v:
        return v.kind
    finally:
        runner.close()
