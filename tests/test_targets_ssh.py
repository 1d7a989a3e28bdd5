"""The `ssh` kind: bounded failure against dead endpoints, and the real path against the virtual device's
sshd (the same client, options and master connection real devices get)."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import threading
import time

import pytest

from ivv.errors import TargetError, TargetUnreachable
from ivv.targets.ssh import SshTarget
from ivv.vdevice.machine import free_port


def test_closed_port_fails_fast_with_a_clear_error(tmp_path):
    target = SshTarget(name="dead", host="127.0.0.1", port=free_port(), user="ivv", connect_timeout=3,
                       known_hosts=str(tmp_path / "kh"))
    started = time.monotonic()
    with pytest.raises(TargetUnreachable, match=r"dead: ssh ivv@127.0.0.1:\d+ failed.*Connection refused"):
        target.run("true")
    assert time.monotonic() - started < 10
    target.close()


def test_silent_server_is_bounded_by_the_connect_timeout(tmp_path):
    """A port that accepts but never speaks SSH (a hung device) must not hang the harness."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    target = SshTarget(name="mute", host="127.0.0.1", port=server.getsockname()[1], user="ivv", connect_timeout=2,
                       known_hosts=str(tmp_path / "kh"))
    started = time.monotonic()
    try:
        with pytest.raises(TargetUnreachable, match="mute"):
            target.run("true", timeout=30)
        assert time.monotonic() - started < 10
        with pytest.raises(TargetUnreachable, match="no SSH answer .* within 3 s"):
            target.wait_reachable(timeout=3)
    finally:
        target.close()
        server.close()


@pytest.fixture(scope="module")
def ssh_target(vdevice, tmp_path_factory):
    """An `ssh`-kind target on the virtual device's forwarded sshd, learning its host key (accept-new)."""
    target = SshTarget(name="vdevice-over-ssh", host="127.0.0.1", port=vdevice.machine.ssh_port,
                       user=vdevice.image.user, key=str(vdevice.image.ssh_key), connect_timeout=10,
                       known_hosts=str(tmp_path_factory.mktemp("ssh") / "known_hosts"))
    yield target
    target.close()


@pytest.mark.vdevice
def test_ssh_round_trip_on_the_virtual_device(ssh_target):
    result = ssh_target.run("echo out; echo err >&2; id -un; exit 7")
    assert (result.exit_status, result.stderr) == (7, "err\n")
    assert result.stdout.splitlines() == ["out", "ivv"]
    with pytest.raises(TargetError, match="exited 1"):
        ssh_target.run("false", check=True)
    assert ssh_target.run("sudo -n id -u").stdout.strip() == "0"


@pytest.mark.vdevice
def test_host_key_is_learned_and_the_master_connection_reused(ssh_target):
    ssh_target.run("true")
    learned = subprocess.run(["ssh-keygen", "-F", f"[127.0.0.1]:{ssh_target.port}", "-f", ssh_target.known_hosts],
                             capture_output=True, text=True, timeout=10)
    assert learned.returncode == 0 and "ssh-ed25519" in learned.stdout, "host key not recorded (accept-new)"
    assert ssh_target.control_path.is_socket(), "no master connection"
    times = []
    for _ in range(5):
        times.append(ssh_target.run("true").duration)
    ssh_target.drop_connection()
    assert not ssh_target.control_path.exists()
    first = ssh_target.run("true").duration      # opens a new master: a full handshake
    assert min(times) < first, (times, first)


@pytest.mark.vdevice
def test_put_and_get_preserve_bytes_and_mode(ssh_target, tmp_path):
    payload = os.urandom(200_000)
    source = tmp_path / "payload.bin"
    source.write_bytes(payload)
    ssh_target.put(source, "/tmp/ivv-payload.bin", mode=0o600)
    assert ssh_target.run("stat -c %a /tmp/ivv-payload.bin").stdout.strip() == "600"
    remote_sum = ssh_target.run("sha256sum /tmp/ivv-payload.bin").stdout.split()[0]
    assert remote_sum == hashlib.sha256(payload).hexdigest()
    ssh_target.put(source, "/root/ivv-root.bin", sudo=True)
    ssh_target.get("/root/ivv-root.bin", tmp_path / "back.bin", sudo=True)
    assert (tmp_path / "back.bin").read_bytes() == payload
    with pytest.raises(TargetError, match="get /root/nope"):
        ssh_target.get("/root/nope", tmp_path / "nope", sudo=True)


@pytest.mark.vdevice
def test_ssh_facts_and_testinfra_host(ssh_target):
    facts = ssh_target.facts()
    assert facts["kind"] == "ssh" and facts["hostname"] == "vdevice" and facts["port"] == ssh_target.port
    host = ssh_target.testinfra_host()
    assert host.service("ssh").is_running
    assert host.service("systemd-networkd").is_enabled
    assert not host.service("no-such-unit").is_running
    assert "video" in host.user("ivv").groups
    assert host.file("/dev/video0").group == "video"
