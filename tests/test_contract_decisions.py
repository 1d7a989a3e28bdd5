"""The contract suite's decisions, built from small dicts with no service: the notification latency
bracket and the auth grid (the suites only say what is checked; these rules decide)."""

from __future__ import annotations

import pytest

from ivv.clock import ClockOffset
from ivv.config.gates import Criterion, Gate, GateSet
from ivv.contract import document as contract_lib
from ivv.contract.authmatrix import auth_grid
from ivv.contract.notifications import NotificationResult, decide_latency
from ivv.evidence.facts import Fact
from ivv.evidence.journal import Journal, Recorder
from ivv.evidence.thresholds import Threshold

LIMIT = Threshold.coerce("<= 20 ms")
GATES = GateSet([Gate("t", "t", "1", None, "", (Criterion("contract.notifications", "notifications", "within 20 ms",
                                                           True, "contract", "t", LIMIT),))])


def latency(tmp_path, rows: list[tuple[float, float]], since: str = "event", received: int | None = None):
    """The one record decide_latency makes for rows of (ms after the reply, ms after the request)."""
    recorder = Recorder(Journal(tmp_path / "evidence.jsonl"), tmp_path, gates=GATES)
    facts = [Fact(f"step {i}", True, details={"latency_ms": low, "since_request_ms": high})
             for i, (low, high) in enumerate(rows)]
    lows = [low for low, _ in rows][: len(rows) if received is None else received]
    decide_latency(recorder, "recording_status_update", "start", "stop", NotificationResult(facts, lows), LIMIT,
                   since)
    (record,) = recorder.recorded("contract.notifications")
    return record


@pytest.mark.parametrize("rows, verdict, bound", [
    ([(0.0, 12.0), (1.0, 15.0)], "PASS", "upper"),           # even counted from the request: within 20 ms
    ([(25.0, 40.0), (3.0, 9.0)], "FAIL", "lower"),           # even counted from the reply: over 20 ms
])
def test_latency_decided_on_the_bound_that_settles_it(tmp_path, rows, verdict, bound):
    record = latency(tmp_path, rows)
    assert (record.verdict, record.details["bound"]) == (verdict, bound)
    assert record.value == (15.0 if bound == "upper" else 25.0)


def test_a_bracket_across_the_threshold_is_not_verified(tmp_path):
    record = latency(tmp_path, [(2.0, 33.0)])
    assert record.kind == "gap" and record.verdict == "NOT VERIFIED"
    assert "between 2.0 ms (from the reply) and 33.0 ms (from the request)" in record.reason


@pytest.mark.parametrize("low, verdict", [(5.0, "PASS"), (25.0, "FAIL")])
def test_latency_counted_from_the_reply_uses_the_lower_bound_alone(tmp_path, low, verdict):
    record = latency(tmp_path, [(low, 90.0)], since="reply")
    assert record.verdict == verdict and record.value == low


def test_a_missing_notification_leaves_latency_unmeasured(tmp_path):
    record = latency(tmp_path, [(1.0, 5.0), (1.0, 5.0)], received=1)
    assert record.kind == "gap" and "no value could be measured" in record.reason


def from_event(tmp_path, since_event: list[float], uncertainty_ms: float = 2.0, in_call: bool = True,
               problem: str | None = None):
    """The one record decide_latency makes when the service stamps event times (latency from the event)."""
    recorder = Recorder(Journal(tmp_path / "evidence.jsonl"), tmp_path, gates=GATES)
    facts = [Fact(f"step {i}", True, details={"latency_ms": 0.0, "since_request_ms": 99.0, "since_event_ms": ms,
                                              "event_in_call": in_call}) for i, ms in enumerate(since_event)]
    offset = None if problem else ClockOffset(0.5, uncertainty_ms / 1000, uncertainty_ms / 500, 8)
    decide_latency(recorder, "recording_status_update", "start", "stop",
                   NotificationResult(facts, [0.0] * len(facts), offset, problem), LIMIT, "event")
    (record,) = recorder.recorded("contract.notifications")
    return record


@pytest.mark.parametrize("worst, verdict, value", [(12.0, "PASS", 14.0), (30.0, "FAIL", 28.0)])
def test_latency_from_the_event_is_decided_on_the_bound_the_clock_allows(tmp_path, worst, verdict, value):
    record = from_event(tmp_path, [3.0, worst])
    assert (record.verdict, record.value) == (verdict, value)       # worst + 2 ms, or worst - 2 ms
    assert record.details["clock"]["uncertainty_ms"] == 2.0


def test_latency_from_the_event_within_the_clock_uncertainty_of_the_limit_is_not_verified(tmp_path):
    record = from_event(tmp_path, [19.0], uncertainty_ms=3.0)
    assert record.kind == "gap" and "19.0 ± 3.0 ms, which straddles" in record.reason


def test_an_event_time_outside_its_call_is_not_trusted(tmp_path):
    record = from_event(tmp_path, [1.0], in_call=False)     # a stamp that would make latency look small
    assert record.kind == "gap" and "outside the call that caused it" in record.reason


def test_an_unreadable_service_clock_leaves_latency_from_the_event_unmeasured(tmp_path):
    record = from_event(tmp_path, [1.0], problem="the service's clock could not be read: no number")
    assert record.kind == "gap" and "could not be read" in record.reason


CONTRACT = contract_lib.Contract({
    "openrpc": "1.2.6", "info": {"title": "grid", "version": "1"},
    "methods": [{"name": "get_metrics", "x-role": "admin", "params": []},
                {"name": "ping", "x-role": "viewer", "params": []}]})


def cell(method: str, credential: str, passed: bool, observed: str) -> Fact:
    return Fact(f"{method} x {credential}", passed, "refused", observed,
                details={"method": method, "credential": credential})


def test_auth_grid_shows_methods_down_credentials_across():
    rows = [cell("get_metrics", "no_token", True, "refused with -32001"),
            cell("get_metrics", "viewer", False, "SUCCEEDED: get_metrics answered viewer with a result"),
            cell("get_metrics", "viewer in params", True, "refused with -32001"),
            cell("ping", "no_token", True, "refused with -32001"),
            cell("ping", "viewer in params", False, "SUCCEEDED")]
    grid = auth_grid(rows, CONTRACT, ["no_token", "viewer", "admin"])
    assert grid["columns"] == ["method", "least role", "no_token", "viewer", "admin", "token in params"]
    metrics, ping = grid["rows"]
    assert metrics == ["get_metrics", "admin", "refused with -32001", "FAIL SUCCEEDED: get_metrics answered viewer with a result",
                       "-", "1 as expected"]
    assert ping == ["ping", "viewer", "refused with -32001", "-", "-", "FAIL viewer in params"]
