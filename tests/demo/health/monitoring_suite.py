"""ops.monitoring decided by two tests (copied as suites/health/test_monitoring.py by the self-tests).

Real local facts, no device: a socket that accepts, and one that refuses once closed."""

import socket

import pytest


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


@pytest.mark.criterion("ops.monitoring")
def test_readiness_follows_dependency(evidence):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    up = _answers(port)
    server.close()
    evidence.check("ops.monitoring", "dependency up: it answers", up, expected=True, observed=up)
    down = _answers(port)
    evidence.check("ops.monitoring", "dependency down: it refuses", not down, expected=False, observed=down)


@pytest.mark.criterion("ops.monitoring")
def test_liveness_answers(evidence):
    with socket.create_server(("127.0.0.1", 0)) as server:
        live = _answers(server.getsockname()[1])
    evidence.check("ops.monitoring", "live endpoint answers", live, expected=True, observed=live)
