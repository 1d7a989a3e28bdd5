"""The reference service on the local target: JSON-RPC framing, auth, media, files, health, limits.

Real processes on loopback (the service and the ffmpeg test-pattern media component), real sockets.
"""

import json
import subprocess
import time

import jwt
import pytest
import requests

from ivv.contract import document as contract_mod
from ivv.stack.base import open_client

DEVICE = "/dev/video0"


@pytest.fixture(scope="module")
def contract(profile):
    return contract_mod.load(profile.contract_path)


@pytest.fixture(scope="module")
def admin(local_stack):
    client = open_client(local_stack, "admin")
    yield client
    client.close()


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the JPEG's SOF marker; asserts SOI/EOI framing."""
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9", "not a complete JPEG"
    i = 2
    while i < len(data):
        assert data[i] == 0xFF
        marker, length = data[i + 1], int.from_bytes(data[i + 2:i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            return int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
        i += 2 + length
    raise AssertionError("no SOF marker")


def test_jsonrpc_framing(local_stack):
    with open_client(local_stack) as cli:
        assert json.loads(cli.send_raw("{not json").received[0])["error"]["code"] == -32700
        for frame in ('{"jsonrpc": "1.0", "method": "ping", "id": 1}', '{"jsonrpc": "2.0", "id": 2}',
                      '{"jsonrpc": "2.0", "method": "ping", "params": 3, "id": 3}', "[]", "7"):
            assert json.loads(cli.send_raw(frame).received[0])["error"]["code"] == -32600, frame
        reply = cli.call("no_such_method", id="abc-1")
        assert reply.error_code == -32601 and reply.frame["id"] == "abc-1"
        assert cli.notify("ping", listen=0.5).received == []  # notifications get no answer
        batch = json.loads(cli.send_raw('[{"jsonrpc":"2.0","method":"ping","id":9},'
                                        '{"jsonrpc":"2.0","method":"ping"}, 5]').received[0])
        assert [item.get("id") for item in batch] == [9, None]
        assert batch[0]["error"]["code"] == -32001 and batch[1]["error"]["code"] == -32600


def test_roles_tokens_and_api_keys(local_stack):
    creds = local_stack.credentials()
    with open_client(local_stack) as cli:
        assert cli.call("ping").error_code == -32001  # not authenticated
        for kind in ("expired", "forged", "alg_none", "not_yet_valid", "revoked_api_key"):
            assert cli.authenticate(creds.bad(kind)).error_code == -32001, kind
        assert cli.call("ping").error_code == -32001
        viewer = cli.authenticate(creds.token("viewer"))
        assert viewer.result["role"] == "viewer" and viewer.result["session_id"]
        assert cli.call("ping").result == "pong"
        assert cli.call("take_snapshot", {"device": DEVICE}).error_code == -32003
        assert cli.call("get_metrics").error_code == -32003
        # a call may carry its own token
        assert cli.call("get_server_info", {"auth_token": creds.token("admin")}).ok
    with open_client(local_stack) as cli:
        assert cli.authenticate(creds.api_key("operator")).result["role"] == "operator"
        assert cli.call("get_storage_info").error_code == -32003
    with open_client(local_stack) as other:  # authentication is per connection
        assert other.call("ping").error_code == -32001


def test_snapshot_is_a_real_jpeg_and_downloadable(local_stack, admin):
    result = admin.request("take_snapshot", {"device": DEVICE, "filename": "t1.jpg"})
    data = (local_stack.workdir / "snapshots" / "t1.jpg").read_bytes()
    assert result["file_size"] == len(data) and jpeg_size(data) == (640, 480)
    url = f"{local_stack.files_base}/files/snapshots/t1.jpg"
    token = local_stack.credentials().token("viewer")
    got = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert got.status_code == 200 and got.content == data
    assert requests.get(url, timeout=5).status_code == 401
    bad = requests.get(f"{local_stack.files_base}/files/snapshots/..%2Foverlay.yaml",
                       headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert bad.status_code in (400, 404) and b"server" not in bad.content
    info = admin.request("get_snapshot_info", {"filename": "t1.jpg"})
    assert info["download_url"] == "/files/snapshots/t1.jpg"
    assert admin.call("get_snapshot_info", {"filename": "../overlay.yaml"}).error_code == -32602


def test_recording_plays_and_notifies(local_stack, admin):
    started = admin.request("start_recording", {"device": DEVICE, "duration": 2, "format": "mkv"})
    assert admin.call("start_recording", {"device": DEVICE}).error_code == -32005
    note = admin.wait_notification("recording_status_update", timeout=10,
                                   predicate=lambda f: f["params"]["status"] == "STOPPED")
    assert note and note["frame"]["params"]["filename"] == started["filename"]
    path = local_stack.workdir / "recordings" / started["filename"]
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                            str(path)], capture_output=True, text=True, timeout=30)
    assert float(probe.stdout.strip()) > 1.0
    assert admin.call("stop_recording", {"device": DEVICE}).error_code == -32602


def test_results_match_the_contract(local_stack, admin, contract):
    calls = {"ping": None, "get_camera_list": None, "get_camera_status": {"device": DEVICE},
             "list_snapshots": {"limit": 5}, "list_recordings": None, "get_storage_info": None,
             "get_metrics": None, "get_status": None, "get_server_info": None, "get_streams": None,
             "set_retention_policy": {"policy_type": "age", "max_age_days": 30, "enabled": True},
             "cleanup_old_files": None}
    for method, params in calls.items():
        reply = admin.call(method, params)
        assert reply.ok, (method, reply.frame)
        assert contract.validate_result(method, reply.result) == [], method
    assert admin.call("get_camera_status", {"device": "/dev/video9"}).error_code == -32004
    assert admin.call("set_retention_policy", {"policy_type": "size", "enabled": True}).error_code == -32602
    assert admin.call("list_snapshots", {"limit": float("nan")}).error_code == -32602


def test_health_follows_the_media_component(local_stack_factory):
    stack = local_stack_factory()
    with open_client(stack, "viewer") as cli:
        stack.control("media", "stop")
        ready = requests.get(stack.health_url("ready"), timeout=5)
        assert ready.status_code == 503 and ready.json()["status"] == "not_ready"
        assert requests.get(stack.health_url("mediamtx"), timeout=5).status_code == 500
        system = requests.get(stack.health_url("system"), timeout=5)
        assert system.status_code == 200 and system.json()["status"] == "degraded"
        assert cli.wait_notification("camera_status_update", timeout=5,
                                     predicate=lambda f: f["params"]["status"] == "DISCONNECTED")
        assert cli.call("take_snapshot", {"device": DEVICE}).error_code == -32003  # viewer
        stack.control("media", "start")
        stack.ensure_ready(10)
        assert cli.wait_notification("camera_status_update", timeout=5,
                                     predicate=lambda f: f["params"]["status"] == "CONNECTED")


def test_rate_and_size_limits(local_stack):
    with open_client(local_stack, "viewer") as cli:  # 3000 pipelined pings against 200/s, burst 400
        batches = [[json.dumps({"jsonrpc": "2.0", "method": "ping", "id": b * 1000 + i}) for i in range(1000)]
                   for b in range(3)]
        for frames in batches:
            cli._ws.send("[" + ",".join(frames) + "]")
        replies = [r for _ in batches for r in json.loads(cli._ws.recv(timeout=30))]
        codes = [r.get("error", {}).get("code") for r in replies]
        assert len(replies) == 3000 and set(codes) == {None, -32002}
        assert codes.count(None) >= 400 and codes.count(-32002) >= 1000
    with open_client(local_stack, "viewer") as cli:
        cli._ws.send(json.dumps({"jsonrpc": "2.0", "method": "ping", "id": 1, "params": {"x": "a" * 70000}}))
        with pytest.raises(Exception) as closed:
            cli._ws.recv(timeout=5)
        assert "1009" in str(closed.value)


def test_expired_session_is_refused(local_stack):
    """The session ends when its token expires (beyond the service's 30 s clock-skew allowance)."""
    secret = local_stack.credentials().jwt_secret
    exp = int(time.time()) - 30 + 2
    short = jwt.encode({"user_id": "u", "role": "admin", "exp": exp}, secret, algorithm="HS256")
    with open_client(local_stack) as cli:
        assert cli.authenticate(short).ok
        assert cli.call("ping").ok
        time.sleep(3.1)
        assert cli.call("ping").error_code == -32001
