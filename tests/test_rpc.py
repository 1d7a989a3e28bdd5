"""The JSON-RPC WebSocket client against a small real server on loopback (real sockets, real frames)."""

from __future__ import annotations

import json
import threading
import time

import pytest
from websockets.sync.server import serve

from ivv.evidence import redact
from ivv.rpc.client import RpcClient, RpcConnectError, RpcConnectionLost, RpcErrorResponse, RpcTimeout


def _answer(req):
    if not isinstance(req, dict) or req.get("jsonrpc") != "2.0" or not isinstance(req.get("method"), str):
        return {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": None}
    method, rid = req["method"], req.get("id")
    if "id" not in req:
        return None
    if method == "ping":
        return {"jsonrpc": "2.0", "result": "pong", "id": rid}
    if method == "echo":
        return {"jsonrpc": "2.0", "result": req.get("params"), "id": rid}
    return {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": rid}


def _handler(ws):
    for message in ws:
        try:
            req = json.loads(message)
        except ValueError:
            ws.send(json.dumps({"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": None}))
            continue
        if isinstance(req, dict) and req.get("method") == "sleep":
            time.sleep(req["params"]["s"])
        if isinstance(req, dict) and req.get("method") == "hangup":
            ws.close()
            return
        if isinstance(req, dict) and req.get("method") == "subscribe":
            ws.send(json.dumps({"jsonrpc": "2.0", "method": "tick", "params": {"n": 1}}))
        if isinstance(req, list):
            answers = [a for a in map(_answer, req) if a is not None]
            if answers:
                ws.send(json.dumps(answers))
            continue
        answer = _answer(req)
        if answer is not None:
            ws.send(json.dumps(answer))


@pytest.fixture(scope="module")
def server_url():
    with serve(_handler, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        port = server.socket.getsockname()[1]
        yield f"ws://127.0.0.1:{port}/ws"
        server.shutdown()
    thread.join(timeout=5)


def test_call_records_timed_exchange(server_url):
    seen = []
    with RpcClient(server_url, on_exchange=seen.append) as cli:
        resp = cli.call("ping")
        assert resp.ok and resp.result == "pong"
        assert cli.request("echo", {"a": 1}) == {"a": 1}
    assert len(seen) == 2 and seen[0].elapsed is not None and seen[0].elapsed < 5
    assert json.loads(seen[0].sent)["method"] == "ping"
    assert "<<< " in cli.transcript()


def test_error_reply_and_request_raises(server_url):
    with RpcClient(server_url) as cli:
        resp = cli.call("nope")
        assert not resp.ok and resp.error_code == -32601
        with pytest.raises(RpcErrorResponse) as info:
            cli.request("nope")
        assert info.value.code == -32601


def test_raw_malformed_frame_and_batch(server_url):
    with RpcClient(server_url) as cli:
        ex = cli.send_raw('{"jsonrpc": "2.0", "method": ')
        assert ex.replies()[0]["error"]["code"] == -32700
        ex = cli.batch([("ping", None, False), ("ping", None, True), ("echo", [1], False)])
        reply = ex.replies()[0]
        assert isinstance(reply, list) and len(reply) == 2


def test_notification_listens_for_forbidden_reply(server_url):
    with RpcClient(server_url) as cli:
        ex = cli.notify("ping", listen=0.3)
        assert ex.outcome == "no-reply" and ex.received == []


def test_per_call_timeout(server_url):
    with RpcClient(server_url) as cli:
        t0 = time.monotonic()
        with pytest.raises(RpcTimeout):
            cli.call("sleep", {"s": 1.0}, timeout=0.2)
        assert time.monotonic() - t0 < 0.9


def test_server_notifications_are_queued_not_taken_as_replies(server_url):
    with RpcClient(server_url) as cli:
        resp = cli.call("subscribe")
        assert resp.error_code == -32601  # the reply, not the notification sent before it
        got = cli.wait_notification("tick", timeout=1)
        assert got is not None and got["frame"]["params"] == {"n": 1}
        assert cli.wait_notification("tick", timeout=0.2) is None


def test_connection_lost_is_reported(server_url):
    with RpcClient(server_url) as cli:
        with pytest.raises(RpcConnectionLost):
            cli.call("hangup")
        assert not cli.connected
        assert cli.exchanges[-1].outcome == "connection-lost"


def test_connect_refused_names_the_url():
    with pytest.raises(RpcConnectError, match="127.0.0.1:1/ws"):
        RpcClient("ws://127.0.0.1:1/ws", connect_timeout=1).connect()


def test_exchange_text_redacts_registered_secrets(server_url):
    secret = "tok-" + "s3cr3t" * 5
    redact.register(secret)
    with RpcClient(server_url) as cli:
        cli.call("echo", {"auth_token": secret})
    text = cli.transcript()
    assert secret not in text and "[REDACTED]" in text
    assert secret not in json.dumps(cli.exchanges[-1].as_dict())
