"""Every fault knob of the reference stack makes one real misbehaviour (and none is on by default).

Each test starts its own local stack with one knob set and shows the misbehaviour on real sockets, next
to the healthy behaviour of the default stack, so a gate criterion that should catch it has something
real to catch. Named after the criterion that must catch the knob. (slow_rollback and broken_release
as upgrades are shown on the virtual device in test_stack_vdevice.py.)
"""

import base64
import json
import os
import time

import jwt
import pytest
import requests

from ivv.contract import document as contract_mod
from ivv.errors import TargetError
from ivv.rpc.client import RpcError
from ivv.stack.base import open_client


def _latency_ms(stack, calls=5) -> float:
    with open_client(stack, "viewer") as cli:
        times = []
        for _ in range(calls):
            t0 = time.monotonic()
            assert cli.call("ping").ok
            times.append((time.monotonic() - t0) * 1000)
    return sorted(times)[len(times) // 2]


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS")) / 1024


def _listen_addresses(port: int) -> set[str]:
    """Local addresses listening on `port` (IPv4), from /proc/net/tcp."""
    found = set()
    with open("/proc/net/tcp") as fh:
        for line in fh.readlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, hexport = local.split(":")
            if state == "0A" and int(hexport, 16) == port:
                found.add(".".join(str(b) for b in reversed(bytes.fromhex(addr))))
    return found


def test_fault_perf_latency_slow_ms(local_stack, local_stack_factory):
    assert _latency_ms(local_stack) < 100
    assert _latency_ms(local_stack_factory({"slow_ms": 300})) >= 300


def test_fault_ops_health_honest_health_lies(local_stack_factory):
    honest, liar = local_stack_factory(), local_stack_factory({"health_lies": True})
    for stack in (honest, liar):
        stack.control("media", "stop")
    assert requests.get(honest.health_url("ready"), timeout=5).status_code == 503
    lie = requests.get(liar.health_url("ready"), timeout=5)
    assert lie.status_code == 200 and lie.json()["status"] == "ready"  # media is down, yet "ready"
    assert requests.get(liar.health_url("mediamtx"), timeout=5).json()["status"] == "healthy"


def test_fault_security_auth_enforced_auth_bypass(local_stack, local_stack_factory):
    with open_client(local_stack) as cli:
        assert cli.call("get_metrics").error_code == -32001
    with open_client(local_stack_factory({"auth_bypass": True})) as cli:
        assert cli.call("get_metrics").ok  # admin-only method, no authentication at all
        assert cli.call("get_server_info").error_code == -32001  # only that one method skips its check


def test_fault_contract_error_codes_wrong_error_codes(local_stack_factory):
    with open_client(local_stack_factory({"wrong_error_codes": True}), "viewer") as cli:
        assert cli.call("no_such_method").error_code == -32600  # should be -32601
        assert cli.call("get_metrics").error_code == -32001  # should be -32003


def test_fault_contract_results_drop_field(local_stack, local_stack_factory, profile):
    contract = contract_mod.load(profile.contract_path)
    with open_client(local_stack, "viewer") as cli:
        assert contract.validate_result("get_camera_list", cli.request("get_camera_list")) == []
    with open_client(local_stack_factory({"drop_field": "1"}), "viewer") as cli:
        result = cli.request("get_camera_list")
    assert "total" not in result
    assert [v.rule for v in contract.validate_result("get_camera_list", result)] == ["required"]


def test_fault_perf_memory_leak_mb_per_min(local_stack_factory):
    stack = local_stack_factory({"leak_mb_per_min": 1200})  # 20 MiB/s so the test is short
    pid = stack.service.proc.pid
    before = _rss_mb(pid)
    time.sleep(3)
    assert _rss_mb(pid) - before > 30


def test_fault_resilience_crash_after(local_stack_factory):
    stack = local_stack_factory({"crash_after": 5})
    with open_client(stack, "viewer") as cli:  # request 1: authenticate
        for _ in range(4):  # requests 2..5 are served
            assert cli.call("ping").ok
        with pytest.raises(RpcError):  # request 6: the process is gone
            cli.call("ping", timeout=3)
    stack.service.proc.wait(10)
    assert stack.service.proc.returncode == 70


def test_fault_contract_fuzz_robustness_crash_on(local_stack_factory):
    stack = local_stack_factory({"crash_on": "take_snapshot.filename"})
    with open_client(stack, "operator") as cli:
        device = cli.request("get_camera_list")["cameras"][0]["device"]
        assert cli.call("take_snapshot", {"device": device, "filename": "a" * 96 + ".jpg"}).ok  # 100 chars
        with pytest.raises(RpcError):  # 101 characters: the process is gone
            cli.call("take_snapshot", {"device": device, "filename": "a" * 97 + ".jpg"}, timeout=3)
    stack.service.proc.wait(10)
    assert stack.service.proc.returncode == 70


def test_fault_ops_deployment_broken_release(local_stack_factory):
    with pytest.raises(TargetError, match="exited with 3"):
        local_stack_factory({"broken_release": True})


def test_fault_security_session_isolation_session_leak(local_stack, local_stack_factory):
    for stack, leaks in ((local_stack, False), (local_stack_factory({"session_leak": True}), True)):
        with open_client(stack, "admin"), open_client(stack) as stranger:
            assert stranger.call("get_metrics").ok is leaks


def _alg_none(role="admin") -> str:
    def b64(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64({'user_id': 'x', 'role': role, 'exp': int(time.time()) + 60})}."


def test_fault_security_auth_enforced_accept_alg_none(local_stack, local_stack_factory):
    with open_client(local_stack) as cli:
        assert cli.authenticate(_alg_none()).error_code == -32001
    with open_client(local_stack_factory({"accept_alg_none": True})) as cli:
        assert cli.authenticate(_alg_none()).result["role"] == "admin"


def test_fault_security_no_default_credentials_weak_secret(local_stack, local_stack_factory):
    claims = {"user_id": "x", "role": "admin", "exp": int(time.time()) + 60}
    with pytest.warns(jwt.warnings.InsecureKeyLengthWarning):  # the point: a short, well-known secret
        token = jwt.encode(claims, "changeme", algorithm="HS256")
    with open_client(local_stack) as cli:
        assert cli.authenticate(token).error_code == -32001
    with open_client(local_stack_factory({"weak_secret": True})) as cli:
        assert cli.authenticate(token).ok


def test_fault_security_least_exposure_bind_all(local_stack, local_stack_factory):
    assert _listen_addresses(local_stack.rpc_port) == {"127.0.0.1"}
    exposed = local_stack_factory({"bind_all": True})
    assert _listen_addresses(exposed.rpc_port) == {"0.0.0.0"}
    assert _listen_addresses(exposed.health_port) == {"0.0.0.0"}


def test_fault_security_request_limits_no_rate_limit(local_stack_factory):
    stack = local_stack_factory({"no_rate_limit": True})
    with open_client(stack, "viewer") as cli:
        frames = [json.dumps({"jsonrpc": "2.0", "method": "ping", "id": i}) for i in range(600)]
        cli._ws.send("[" + ",".join(frames) + "]")
        replies = json.loads(cli._ws.recv(timeout=10))
    assert all("result" in r for r in replies) and len(replies) == 600


def test_fault_security_path_traversal_file_traversal(local_stack, local_stack_factory):
    def fetch(stack):
        token = stack.credentials().token("viewer")
        return requests.get(f"{stack.files_base}/files/snapshots/..%2Foverlay.yaml",
                            headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert fetch(local_stack).status_code == 400
    leaky = local_stack_factory({"file_traversal": True})
    got = fetch(leaky)
    assert got.status_code == 200 and str(leaky.workdir).encode() in got.content  # the overlay file


def test_fault_security_transport_tls_plain_ws(profile, tmp_path):
    """With TLS configured, the healthy stack speaks TLS on the API port; with the knob, plain ws://."""
    from ivv.rpc.tls import LabCa, speaks_tls
    from ivv.stack.local import enable_tls, prepare_local

    for knobs, expect_tls in (({}, True), ({"plain_ws": True}, False)):
        folder = tmp_path / ("plain" if knobs else "tls")
        stack = prepare_local(profile, folder, faults=knobs)
        enable_tls(stack, *LabCa(folder).write_pair(stack.host))
        with stack:
            stack.start_component("media")
            stack.start_component("service")
            stack.ensure_ready(30)
            assert speaks_tls(stack.host, stack.rpc_port)[0] is expect_tls, knobs


def test_fault_contract_notifications_notify_delay_ms(local_stack_factory):
    """The notification of a state change comes 300 ms after the call that made it has answered."""
    stack = local_stack_factory({"notify_delay_ms": 300})
    with open_client(stack, "operator") as cli:
        device = cli.request("get_camera_list")["cameras"][0]["device"]
        cli.request("start_recording", {"device": device})
        replied = time.monotonic()
        try:
            got = cli.wait_notification("recording_status_update", timeout=5)
            assert got is not None and got["monotonic"] - replied >= 0.25, got
        finally:
            cli.call("stop_recording", {"device": device})


def test_no_knob_is_on_by_default(local_stack, profile):
    assert not [k for k in os.environ if k.startswith(profile.faults["prefix"])]
    log = local_stack.log_tail(200)
    assert "faults none" in log
