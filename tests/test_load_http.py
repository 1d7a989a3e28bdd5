"""HTTP load through ivv's load runner (Locust FastHttpUser in its own process) against the REST capture
stub over real sockets: the clean stub answers every call and the run has latency figures; with a token
the stub does not know every call fails with its 401 (so the error-rate criterion can FAIL); the open
model keeps its arrival rate, and a stub that stalls for 1.5 s shows in its latency (timed from the
schedule) while the closed model, which waits with the server, hides it; a spec the HTTP user cannot
run as asked (a task that is not `METHOD /path`) is refused with the field."""

import pytest

from ivv.errors import ConfigError
from ivv.load.launch import run_load
from ivv.load.spec import spec_from_settings

MIX = {"GET /status": 3, "GET /health": 1, "POST /captures": {"weight": 1, "params": {"label": "load"}}}


def http_run(base: str, token: str, out, **settings):
    spec = spec_from_settings(base, {"users": 2, "spawn_rate": 50, "duration_s": 3, "task_mix": MIX,
                                     "max_requests": 3000, **settings})
    assert spec.protocol == "http"
    return run_load(spec, out, token=token).result["summary"]


def test_http_load_against_the_clean_stub(capture_stub, tmp_path):
    base, _headers, token = capture_stub()
    summary = http_run(base, token, tmp_path)
    assert summary["requests"] > 20 and summary["failed"] == 0, summary
    assert set(summary["per_method"]) == set(MIX)
    assert summary["latency"]["p95_ms"] > 0


def test_http_connection_stability_counts_keep_alive_connections_kept(capture_stub, tmp_path):
    """perf.connection_stability over HTTP: keep-alive sockets opened and kept to the end. The clean stub
    keeps each user's one connection (PASS); one that closes after every answer, and one that closes a
    connection idle for 50 ms (found dead when the user's next call is due), keep none (FAIL), while the
    calls themselves all succeed."""
    from ivv.config.gates import GateSet
    from ivv.load import suite as perf

    gates = GateSet.load(["production-readiness"])
    found = {}
    for fault in (None, "close_connections", "idle_close"):
        base, _headers, token = capture_stub(fault)
        spec = spec_from_settings(base, {"users": 2, "spawn_rate": 50, "duration_s": 2, "task_mix": MIX,
                                         "max_requests": 3000, "think_time_s": 0.15})
        outcome = run_load(spec, tmp_path / str(fault), token=token)
        verdict = perf.evaluate(outcome, gates, ["perf.connection_stability"])["perf.connection_stability"]
        found[fault] = (verdict["verdict"], outcome.summary["connections"], outcome.summary["failed"])
    (clean, clean_counts, clean_failed) = found[None]
    assert clean == "PASS" and clean_counts["opened"] == 2 and clean_counts["dropped"] == 0, found
    for fault in ("close_connections", "idle_close"):
        verdict, counts, failed = found[fault]
        assert verdict == "FAIL" and counts["opened"] > 10 and counts["kept"] <= 2 and failed == 0, (fault, found)


def test_http_load_counts_refused_calls_as_failed(capture_stub, tmp_path):
    base, _headers, _token = capture_stub()
    summary = http_run(base, "not-the-token", tmp_path)
    protected = sum(v["count"] for k, v in summary["per_method"].items() if k != "GET /health")
    assert summary["requests"] > 20 and summary["failed"] == protected > 0, summary
    assert any("401" in e for e in summary["error_examples"]), summary["error_examples"]


def test_http_open_model_keeps_its_arrival_rate(capture_stub, tmp_path):
    base, _headers, token = capture_stub()
    summary = http_run(base, token, tmp_path, arrival_rate_per_s=40)
    assert summary["requests"] == pytest.approx(40 * 3, rel=0.15) and summary["failed"] == 0, summary
    assert summary["latency"]["p95_ms"] < 500, summary["latency"]


def test_http_open_model_times_a_stall_from_the_schedule(capture_stub, tmp_path):
    """Calls due while the stub stalls are late by the rest of the stall: the open model's p95 shows it.
    The closed model against the same stall (positive control of the blind spot) sees a few slow calls."""
    base, _headers, token = capture_stub("stall")
    paced = http_run(base, token, tmp_path / "open", arrival_rate_per_s=40, duration_s=4)
    base, _headers, token = capture_stub("stall")
    # a budget the closed users cannot spend before the stall (3000 calls took under its first second)
    closed = http_run(base, token, tmp_path / "closed", duration_s=4, max_requests=40000)
    assert paced["requests"] == pytest.approx(40 * 4, rel=0.15) and paced["failed"] == 0, paced
    assert paced["latency"]["p95_ms"] > 700, paced["latency"]
    assert closed["latency"]["max_ms"] > 1000 > 5 * closed["latency"]["p95_ms"], closed["latency"]


def test_an_http_task_must_name_method_and_path():
    with pytest.raises(ConfigError, match=r"load.task_mix.get_status: an HTTP task is 'METHOD /path'"):
        spec_from_settings("http://127.0.0.1:1", {"task_mix": {"get_status": 1}})


def test_http_capacity_search_measures_less_capacity_in_a_serial_service(capture_stub, tmp_path):
    """perf.capacity over HTTP can FAIL: the open-model search against the clean stub and against one
    that answers one request at a time (40 ms each: at most 25 a second), judged with the shipped gate's
    thresholds (p95, error rate, and a minimum of 40 req/s)."""
    from types import SimpleNamespace

    from ivv.config.gates import GateSet
    from ivv.load import capacity_record as capacity
    from ivv.load import suite as perf

    gates = GateSet.load(["production-readiness"])
    load = {**gates.setting("load"), "task_mix": {"GET /status": 1}}
    short = {"start_rate": 20, "step_factor": 2, "step_s": 3, "warmup_s": 1, "max_rate": 160, "bisect_steps": 2,
             "max_seconds": 30, "max_send_lag_p99_ms": 100}
    found = {}
    for fault in (None, "serial"):
        base, _headers, token = capture_stub(fault)
        endpoint = SimpleNamespace(url=base, token=token, target=None, selector=None, default_params={},
                                   tls_verify=True, ca_file=None)
        out = tmp_path / (fault or "clean")
        outcome = capacity.run(endpoint, gates, load, short, out)
        verdict = perf.evaluate(outcome, gates, [capacity.CRITERION], tmp_path / f"{fault}.jsonl",
                                record_with=capacity.record)[capacity.CRITERION]
        found[fault] = (verdict["verdict"], capacity.conclusion(outcome, gates.criterion(capacity.CRITERION).threshold),
                        capacity.steps_of(outcome))
    (clean, clean_found, clean_steps), (serial, serial_found, serial_steps) = found[None], found["serial"]
    assert clean == "PASS" and clean_found.value >= 40, (clean_found, clean_steps)
    assert serial == "FAIL" and serial_found.value < 40 and serial_found.upper <= 40, (serial_found, serial_steps)
    assert all(s["figures"]["calls"] > 0 for s in clean_steps + serial_steps)
    over = [s for s in serial_steps if s["verdict"] == "over"]
    assert over and all(s["figures"]["send_lag_p99_ms"] <= short["max_send_lag_p99_ms"] for s in over), over
