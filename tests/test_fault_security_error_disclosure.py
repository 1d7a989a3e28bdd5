"""security.error_disclosure can FAIL: a real WebSocket JSON-RPC service whose errors carry a Python
traceback and its signing secret (the reference stack has no knob for this: its internal errors never
carry a traceback), probed over a real socket with the same probe the suite runs."""

import asyncio
import json
import threading
import traceback

import pytest
from websockets.asyncio.server import serve

from ivv.contract.document import Contract
from ivv.rpc.auth import Credentials
from ivv.security import disclosure
from ivv.security.surface import Surface
from ivv.security.wire import Transcript

SECRET = "leaky-service-signing-secret-0123456789"
CONTRACT = Contract({"openrpc": "1.2.6", "info": {"title": "leaky", "version": "1"}, "methods": [
    {"name": "authenticate", "params": [{"name": "auth_token", "required": True, "schema": {}}]},
    {"name": "ping", "params": [], "x-role": "viewer"},
    {"name": "get_camera_status", "params": [{"name": "device", "required": True, "schema": {"type": "string"}}],
     "x-role": "viewer"}]})


async def _leaky(conn):
    """Answers every request with an error built the careless way: str(exception) plus the traceback."""
    async for message in conn:
        request = {}
        try:
            request = json.loads(message)
            if request["method"] == "authenticate":
                raise ValueError(f"signature mismatch (key {SECRET})")
            raise KeyError(request["params"]["device"]["nested"])
        except Exception as exc:  # noqa: BLE001 - the misbehaviour under test
            ident = request.get("id") if isinstance(request, dict) else None
            await conn.send(json.dumps({"jsonrpc": "2.0", "id": ident, "error": {
                "code": -32603, "message": f"{type(exc).__name__}: {exc}", "data": traceback.format_exc()}}))


@pytest.fixture
def leaky_url():
    loop = asyncio.new_event_loop()
    started, stop = threading.Event(), asyncio.Event()
    port = []

    async def main():
        async with serve(_leaky, "127.0.0.1", 0) as server:
            port.append(server.sockets[0].getsockname()[1])
            started.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(10)
    yield f"ws://127.0.0.1:{port[0]}/ws"
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)


def test_fault_security_error_disclosure_traceback_and_secret(leaky_url):
    surface = Surface(leaky_url, CONTRACT, Credentials(SECRET, {}, None), timeout=3)
    finding = disclosure.disclosure_probe(surface, Transcript())
    assert finding.criterion == "security.error_disclosure" and not finding.passed
    assert "stack trace" in finding.observed and "secret value" in finding.observed
    assert "exception class" in finding.observed
    exchange = finding.transcript()
    assert "Traceback (most recent call last)" in exchange  # the exchange shows it...
    assert SECRET not in exchange                          # ...with the secret redacted
