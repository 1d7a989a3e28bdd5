"""The `qemu` kind on the session's virtual device: facts, SSH, forwards, power, reset, link, restore, two
devices side by side; and the lease watchdog that ends a QEMU whose owner died or whose time ran out."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ivv.errors import TargetUnreachable
from ivv.targets.qemu import QemuTarget
from ivv.vdevice import watchdog

vdevice_test = pytest.mark.vdevice


def boot_id(target) -> str:
    return target.run("cat /proc/sys/kernel/random/boot_id", check=True).stdout.strip()


@vdevice_test
def test_facts_are_right(vdevice):
    facts = vdevice.facts()
    assert facts["kind"] == "qemu" and facts["accel"] in ("tcg", "kvm")
    assert facts["os_release"]["version_codename"] == "bookworm"
    assert facts["kernel"].endswith("-amd64") and not facts["kernel"].endswith("cloud-amd64")
    assert facts["python"].startswith("3.11")
    assert facts["cores"] == vdevice.cpus and 800 < facts["memory_mb"] <= vdevice.memory_mb
    assert facts["video0"] is True and facts["video0_group"] == "video"
    assert int(facts["video0_mode"], 8) & 0o060 == 0o060     # group video may read and write
    assert facts["boot_seconds"] > 0 and Path(facts["console_log"]).exists()
    assert vdevice.image.key == facts["image_key"]


@vdevice_test
def test_camera_readable_by_group_video_only(vdevice):
    assert vdevice.run("test -r /dev/video0 && id -nG | grep -qw video").succeeded
    assert vdevice.run("v4l2-ctl -d /dev/video0 --get-fmt-video", timeout=30).succeeded
    # a user outside group video cannot open the camera
    assert not vdevice.run("sudo -u nobody test -r /dev/video0").succeeded
    driver = vdevice.run("v4l2-ctl -d /dev/video0 --info", check=True).stdout
    assert "vivid" in driver


@vdevice_test
def test_command_round_trip_and_files(vdevice, tmp_path):
    result = vdevice.run("echo hi; echo oops >&2; exit 5")
    assert (result.exit_status, result.stdout, result.stderr) == (5, "hi\n", "oops\n")
    src = tmp_path / "cfg.txt"
    src.write_text("camera: on\n")
    vdevice.put(src, "/etc/ivv-selftest.conf", mode=0o644, sudo=True)
    vdevice.get("/etc/ivv-selftest.conf", tmp_path / "back.txt")
    assert (tmp_path / "back.txt").read_text() == "camera: on\n"
    vdevice.run("sudo rm -f /etc/ivv-selftest.conf", check=True)


@vdevice_test
def test_address_forwards_a_device_port_lazily(vdevice):
    vdevice.run("mkdir -p /tmp/www && echo ivv-forward-ok > /tmp/www/probe.txt && "
                "sudo systemd-run --unit=ivv-selftest-http --property=WorkingDirectory=/tmp/www "
                "python3 -m http.server 8091", check=True, timeout=30)
    host, port = vdevice.address(8091)
    assert host == "127.0.0.1" and vdevice.address(8091) == (host, port)
    body = None
    for _ in range(20):
        try:
            body = urllib.request.urlopen(f"http://{host}:{port}/probe.txt", timeout=3).read().decode()
            break
        except OSError:
            time.sleep(0.5)
    vdevice.run("sudo systemctl stop ivv-selftest-http")
    assert body == "ivv-forward-ok\n"


@vdevice_test
def test_power_cycle_reboots_and_keeps_the_disk(vdevice):
    before = boot_id(vdevice)
    vdevice.run("sudo sh -c 'echo deployed > /var/lib/ivv-power-marker && sync'", check=True)
    forward = vdevice.address(8092)
    seconds = vdevice.power_cycle()
    assert boot_id(vdevice) != before
    assert vdevice.run("cat /var/lib/ivv-power-marker").stdout == "deployed\n"
    assert vdevice.address(8092) == forward, "forwarded ports must survive a power cycle"
    assert 0 < seconds < vdevice.boot_timeout
    assert vdevice.boots[-1]["kind"] == "power_cycle"


@vdevice_test
@pytest.mark.extended   # about 2 minutes under TCG; power_cycle above covers a reboot in make test
def test_reset_reboots(vdevice):
    before = boot_id(vdevice)
    vdevice.reset()
    assert boot_id(vdevice) != before
    assert vdevice.run("systemctl is-system-running").stdout.strip() in ("running", "degraded")


@vdevice_test
def test_link_down_fails_new_ssh_quickly_and_link_up_restores(vdevice):
    try:
        vdevice.link(False)
        started = time.monotonic()
        with pytest.raises(TargetUnreachable):
            vdevice.run("true", timeout=30)
        assert time.monotonic() - started < 15, "SSH with the link down must fail within a bounded time"
    finally:
        vdevice.link(True)
    deadline = time.monotonic() + 20
    while True:
        try:
            assert vdevice.run("true").succeeded
            break
        except TargetUnreachable:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


@vdevice_test
def test_restore_gives_a_clean_device(vdevice):
    vdevice.run("sudo touch /var/lib/ivv-dirty", check=True)
    before = boot_id(vdevice)
    vdevice.restore()
    assert boot_id(vdevice) != before
    assert not vdevice.run("test -e /var/lib/ivv-dirty").succeeded
    assert not vdevice.run("test -e /var/lib/ivv-power-marker").succeeded


@vdevice_test
def test_two_devices_side_by_side_and_owner_death_ends_the_second(vdevice):
    owner = subprocess.Popen(["sleep", "600"])
    second = QemuTarget(name="vdevice-b", quiet=True)
    try:
        second.start()
        # the lease of the second device belongs to `owner`; re-point its watchdog there
        second.machine.owner_pid = owner.pid
        second.machine._spawn_watchdog()
        assert second.machine.ssh_port != vdevice.machine.ssh_port
        assert second.machine.run_dir != vdevice.machine.run_dir
        assert boot_id(second) != boot_id(vdevice)
        second.run("touch /tmp/only-on-b", check=True)
        assert not vdevice.run("test -e /tmp/only-on-b").succeeded
        pid, run_dir = second.machine.pid, second.machine.run_dir
        owner.kill()
        owner.wait()
        deadline = time.monotonic() + 30
        while watchdog.is_qemu(pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not watchdog.is_qemu(pid), "QEMU outlived its owner"
        time.sleep(1)
        assert not run_dir.exists()
        assert vdevice.run("true").succeeded, "the first device must be unaffected"
    finally:
        owner.kill()
        second.close()


def fake_qemu() -> subprocess.Popen:
    """A process whose command line looks like QEMU's, so the watchdog's pid guard accepts it."""
    return subprocess.Popen(["bash", "-c", "exec -a qemu-system-x86_64 sleep 600"])


def start_watchdog(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ivv.vdevice.watchdog", *args])


def wait_gone(proc: subprocess.Popen, limit: float) -> float:
    started = time.monotonic()
    while proc.poll() is None and time.monotonic() - started < limit:
        time.sleep(0.2)
    return time.monotonic() - started


def test_watchdog_ends_qemu_when_the_lease_expires(tmp_path):
    qemu = fake_qemu()
    time.sleep(0.2)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    dog = start_watchdog("--pid", str(qemu.pid), "--deadline", str(time.time() + 1), "--run-dir", str(run_dir))
    try:
        assert wait_gone(qemu, 25) < 25, "QEMU outlived its lease"
        assert wait_gone(dog, 10) < 10 and not run_dir.exists()
    finally:
        qemu.kill()
        dog.kill()


def test_watchdog_ends_qemu_when_the_owner_dies_and_not_before():
    qemu, owner = fake_qemu(), subprocess.Popen(["sleep", "600"])
    time.sleep(0.2)
    dog = start_watchdog("--pid", str(qemu.pid), "--deadline", str(time.time() + 600), "--owner", str(owner.pid))
    try:
        time.sleep(2)
        assert qemu.poll() is None, "killed while the owner was alive"
        owner.kill()
        owner.wait()
        assert wait_gone(qemu, 25) < 25, "QEMU outlived its owner"
    finally:
        for proc in (qemu, owner, dog):
            proc.kill()


def test_watchdog_leaves_recycled_pids_alone():
    not_qemu = subprocess.Popen(["sleep", "600"])
    try:
        assert not watchdog.is_qemu(not_qemu.pid)
        assert watchdog.main(["--pid", str(not_qemu.pid), "--deadline", "0"]) == 0
        assert not_qemu.poll() is None
        assert not watchdog.is_qemu(os.getpid())
    finally:
        not_qemu.kill()


@vdevice_test
def test_boot_time_and_console_log_go_into_the_bundle(vdevice, tmp_path):
    import hashlib
    import json

    from ivv.fixtures.targets import TargetPool

    from ivv.config.inventory import load_inventory
    from ivv.evidence import bundle as bundle_lib

    bundle = bundle_lib.Bundle.create(tmp_path / "reports", "run-vdevice")
    bundle_lib.set_current(bundle)
    try:
        TargetPool(load_inventory()).record(vdevice)
    finally:
        bundle_lib.set_current(None)
    entry = json.loads((bundle.path / "manifest.json").read_text())["targets"]["vdevice"]
    assert entry["accel"] in ("tcg", "kvm") and entry["boots"] and entry["boots"][0]["seconds"] > 0
    console = bundle.path / entry["console_log"]["path"]
    assert console.exists() and hashlib.sha256(console.read_bytes()).hexdigest() == entry["console_log"]["sha256"]
    assert "ivv: boot at" in console.read_text()


def test_device_cli_with_no_running_device(tmp_path, monkeypatch, capsys):
    from ivv import cli

    monkeypatch.setenv("IVV_CACHE", str(tmp_path / "cache"))
    assert cli.main(["device", "status"]) == 0
    out = capsys.readouterr().out
    assert "not built (ivv device build)" in out and "no running virtual device" in out
    assert cli.main(["device", "down", "nosuch"]) == 1
    assert cli.main(["device", "ssh", "--name", "nosuch", "--", "true"]) == 2   # nothing to reach
    assert "pick one running virtual device" in capsys.readouterr().err
