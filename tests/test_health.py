"""ivv.health.readiness and ivv.health.latency: schema, code/body consistency, readiness waits and percentiles, against a real HTTP server."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ivv.health import latency
from ivv.health import readiness as health

READY_SCHEMA = {
    "type": "object",
    "required": ["status", "timestamp"],
    "properties": {"status": {"enum": ["ready", "not_ready"]}, "timestamp": {"type": "string"}},
}


class _Handler(BaseHTTPRequestHandler):
    answers: dict = {}

    def do_GET(self):  # noqa: N802 - http.server naming
        code, body = self.server.answers.get(self.path, (404, {"error": "no such endpoint"}))
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.answers = {}
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_not_ready_with_200_is_inconsistent_and_not_ready(server):
    srv, base = server
    srv.answers["/health/ready"] = (200, {"status": "not_ready", "timestamp": "t"})
    answer = health.probe(base + "/health/ready")
    ok, reason = health.consistency(answer)
    assert not ok and "not_ready" in reason
    assert not answer.is_ready


@pytest.mark.parametrize("code,body,ok", [
    (200, {"status": "ready"}, True),
    (503, {"status": "not_ready"}, True),
    (200, {"status": "not_ready"}, False),
    (503, {"status": "ready"}, False),
    (500, {"status": "unhealthy"}, True),
    (200, {"status": "unhealthy"}, False),
    (200, {"status": "degraded"}, True),
    (200, {"state": "ready"}, False),
    (200, {"status": "banana"}, False),
])
def test_consistency_table(code, body, ok):
    answer = health.HealthAnswer("u", code, body, 0.01)
    assert health.consistency(answer)[0] is ok


def test_documented_codes_override_defaults():
    answer = health.HealthAnswer("u", 500, {"status": "not_ready"}, 0.01)
    assert not health.consistency(answer)[0]  # default promises 503
    assert health.consistency(answer, {"not_ready": 500, "ready": 200})[0]


def test_refused_connection_is_an_answer_not_an_exception():
    answer = health.probe("http://127.0.0.1:9/health/ready", timeout=1)
    assert not answer.answered and answer.error
    assert not health.consistency(answer)[0]


def test_non_json_body_is_reported(server):
    srv, base = server
    srv.answers["/x"] = (200, "<html>ok</html>")
    answer = health.probe(base + "/x")
    assert answer.error == "body is not JSON" and not answer.is_ready


def test_schema_errors_name_the_field():
    assert health.schema_errors({"status": "ready", "timestamp": "t"}, READY_SCHEMA) == []
    errors = health.schema_errors({"status": "fine"}, READY_SCHEMA)
    assert any("timestamp" in e for e in errors) and any(e.startswith("status:") for e in errors)


def test_wait_ready_and_not_ready_follow_the_server(server):
    srv, base = server
    srv.answers["/r"] = (503, {"status": "not_ready"})
    waited = health.wait_ready(base + "/r", timeout_s=0.6, interval_s=0.1)
    assert not waited.reached and waited.elapsed_s >= 0.6 and waited.polls <= 9
    assert health.wait_not_ready(base + "/r", timeout_s=1).reached
    srv.answers["/r"] = (200, {"status": "ready"})
    assert health.wait_ready(base + "/r", timeout_s=1).reached


def test_wait_not_ready_ignores_a_dead_server():
    waited = health.wait_not_ready("http://127.0.0.1:9/", timeout_s=0.3, interval_s=0.1)
    assert not waited.reached


def test_percentiles_nearest_rank():
    p = latency.percentiles([float(i) for i in range(1, 101)])
    assert (p["p50"], p["p95"], p["p99"], p["min"], p["max"]) == (50.0, 95.0, 99.0, 1.0, 100.0)
    with pytest.raises(ValueError):
        latency.percentiles([])


def test_sample_latency_counts_failures(server):
    srv, base = server
    srv.answers["/h"] = (200, {"status": "healthy"})
    latencies, failed = latency.sample_latency(base + "/h", 5)
    assert len(latencies) == 5 and not failed and all(v > 0 for v in latencies)
    latencies, failed = latency.sample_latency("http://127.0.0.1:9/", 2, timeout=1)
    assert not latencies and len(failed) == 2


def test_one_readiness_rule_follows_the_documented_codes():
    """Ready = 2xx and a body status the endpoint documents with 2xx; words compared without case."""
    ready = {"codes": {"ready": 200, "not_ready": 503}}
    assert health.HealthAnswer("u", 200, {"status": "READY"}, 0.0, spec=ready).is_ready
    assert not health.HealthAnswer("u", 200, {"status": "degraded"}, 0.0, spec=ready).is_ready
    assert not health.HealthAnswer("u", 503, {"status": "ready"}, 0.0, spec=ready).is_ready
    system = {"codes": {"healthy": 200, "degraded": 200, "unhealthy": 500}}
    assert health.HealthAnswer("u", 200, {"status": "degraded"}, 0.0, spec=system).is_ready
    assert health.HealthAnswer("u", 200, {"status": "ok"}, 0.0).is_ready  # nothing documented: common words
    assert not health.HealthAnswer("u", 200, {"status": "not_ready"}, 0.0).is_ready
