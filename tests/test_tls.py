"""ivv.rpc.tls against real TLS servers on loopback: a certificate PASSes only when a client following the
given trust verifies chain and name; untrusted CA, wrong name, expiry and plain TCP are each caught
with the verifier's own reason. Inventory `tls` settings are checked with clear errors."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from contextlib import contextmanager

import pytest
import trustme

from ivv.config.inventory import load_inventory
from ivv.errors import InventoryError
from ivv.rpc.tls import SYSTEM_STORE, LabCa, Trust, inspect, speaks_tls


@contextmanager
def tls_server(cert, key, wrap: bool = True):
    """Accepts connections on a free loopback port and completes TLS handshakes (or, unwrapped, says hello
    in plain text) until the block ends."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    if wrap:
                        with context.wrap_socket(conn, server_side=True) as tls:
                            tls.recv(1)
                    else:
                        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                except (ssl.SSLError, OSError):
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()


@pytest.fixture
def lab(tmp_path):
    return LabCa(tmp_path)


def test_a_certificate_from_the_trusted_ca_for_the_dialled_name_verifies(lab):
    cert, key = lab.write_pair("camera.test")
    with tls_server(cert, key) as port:
        facts = inspect("127.0.0.1", port, lab.trust("camera.test"))
    assert facts["tls"] and facts["verified"], facts
    assert facts["certificate"]["san"] == ["camera.test"] and not facts["certificate"]["self_signed"]
    assert "ivv lab CA" in facts["certificate"]["issuer"] and len(facts["certificate"]["sha256"]) == 64


def test_another_ca_wrong_name_and_expiry_are_each_refused_with_the_reason(lab, tmp_path):
    cert, key = lab.write_pair("camera.test")
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    with tls_server(cert, key) as port:
        untrusted = inspect("127.0.0.1", port, Trust(str(other), "camera.test", "other CA"))
        misnamed = inspect("127.0.0.1", port, lab.trust("elsewhere.test"))
        system = inspect("127.0.0.1", port, Trust(None, "camera.test", SYSTEM_STORE))
    assert untrusted["tls"] and not untrusted["verified"]
    assert "unable to get local issuer certificate" in untrusted["verify_error"]
    assert "Hostname mismatch" in misnamed["verify_error"]
    assert not system["verified"]  # a lab CA is in no system store

    (tmp_path / "old").mkdir()
    old = LabCa(tmp_path / "old")
    expired_cert, expired_key = old.write_pair("camera.test", not_after=dt.datetime.now(dt.UTC)
                                               - dt.timedelta(days=1))
    with tls_server(expired_cert, expired_key) as port:
        expired = inspect("127.0.0.1", port, old.trust("camera.test"))
    assert not expired["verified"] and "expired" in expired["verify_error"], expired


def test_plain_tcp_and_a_closed_port_are_not_tls(lab):
    cert, key = lab.write_pair("127.0.0.1")
    with tls_server(cert, key, wrap=False) as port:
        plain = inspect("127.0.0.1", port, lab.trust("127.0.0.1"))
        assert speaks_tls("127.0.0.1", port)[0] is False
    assert plain["tls"] is False and plain["verified"] is False and plain["handshake"]
    with socket.create_server(("127.0.0.1", 0)) as spare:
        closed_port = spare.getsockname()[1]
    assert speaks_tls("127.0.0.1", closed_port)[0] is None
    assert inspect("127.0.0.1", closed_port, lab.trust("x"))["tls"] is False


def test_inventory_tls_settings_are_checked_with_file_line_and_field(tmp_path, lab):
    good = tmp_path / "good.yaml"
    good.write_text("targets:\n  - {name: cam, kind: ssh, host: 10.0.0.5, user: ivv,\n"
                    f"     tls: {{ca_file: {lab.ca_file.name}, server_name: cam.lab}}}}\n")
    entry = load_inventory(good).entry("cam")
    assert entry["tls"] == {"ca_file": str(lab.ca_file.resolve()), "server_name": "cam.lab"}

    cases = {
        "tls: {ca_file: missing.pem}": "cannot read CA bundle",
        "tls: {ca_file: notpem.txt}": "holds no PEM certificate",
        "tls: {ca_file: lab-ca.pem, lab_ca: true}": "not both",
        "tls: {lab_ca: yes-please}": "is not of type 'boolean'",
        "tls: {server}": "Additional properties",
    }
    (tmp_path / "notpem.txt").write_text("hello\n")
    for text, message in cases.items():
        bad = tmp_path / "bad.yaml"
        bad.write_text(f"targets:\n  - name: cam\n    kind: ssh\n    host: 10.0.0.5\n    user: ivv\n    {text}\n")
        with pytest.raises(InventoryError) as info:
            load_inventory(bad)
        assert str(bad) in str(info.value) and "tls" in str(info.value) and message in str(info.value), \
            (text, str(info.value))


def _profile(rpc_tls, environments=("development", "staging", "production"), deployable=True):
    from pathlib import Path

    from ivv.config.profile import Profile

    data = {"name": "s", "environments": list(environments), "rpc": {"port": 1, "path": "/ws", "tls": rpc_tls},
            "health": {"port": 2, "endpoints": {}}}
    if deployable:
        data["deployment"] = {"versions": ["1"]}
    return Profile(Path("/p/profile.yaml"), data)


def _target(environment, **tls):
    from ivv.targets.base import create_target

    return create_target("local", "dev", environment=environment, tls=tls)


def test_transport_plan_judges_production_and_deploys_it_only_where_ivv_deploys():
    from ivv.rpc.tls import transport_plan

    per_env = {"staging": False, "production": True}
    staging = transport_plan(_profile(per_env), _target("staging"))
    assert (staging.environment, staging.redeploy, staging.lab_ca) == ("production", True, False)
    lab = transport_plan(_profile(per_env), _target("production", lab_ca=True))
    assert (lab.environment, lab.redeploy, lab.lab_ca) == ("production", True, True)
    as_is = transport_plan(_profile(per_env), _target("production", ca_file="/ca.pem"))
    assert (as_is.environment, as_is.redeploy) == ("production", False)
    # the profile's claim is not trusted: production is judged even where the profile says TLS is off
    assert transport_plan(_profile({"production": False}), _target("staging")).environment == "production"
    assert transport_plan(_profile(False, ("dev", "lab")), _target("dev")).environment is None

    # a service ivv did not deploy is judged as reached: over wss:// yes, over ws:// not at all
    wss = transport_plan(_profile(True, ("production",), deployable=False), _target("staging"))
    assert (wss.environment, wss.redeploy) == ("staging", False)
    ws = transport_plan(_profile(False, ("production",), deployable=False), _target("staging"))
    assert ws.environment is None and "wss://" in ws.reason
