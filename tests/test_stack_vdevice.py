"""The reference stack on the virtual device, through its release archives and its own scripts.

One ordered story on the session's virtual device (the shared `vdevice` fixture): install 1.0.0, both
units active, a snapshot that is a 640x480 JPEG from vivid, a recording ffprobe reads, the camera
going away and coming back, upgrade to 1.1.0, a rollback slowed by the slow_rollback knob, an upgrade
to the broken release that rolls itself back, uninstall keeping the data, reinstall.
"""

import shlex
import time

import pytest
import requests

from ivv.stack.base import open_client
from ivv.stack.device import DeviceStack
from ivv.stack.release import fresh_archives
from tests.test_stack_service import jpeg_size

pytestmark = [pytest.mark.vdevice, pytest.mark.timeout(600)]
DEVICE = "/dev/video0"


class Story:
    """State carried from one step to the next (files made in 1.0.0 must survive everything)."""

    checksums: dict[str, str] = {}


@pytest.fixture(scope="module")
def dev(vdevice, profile):
    fresh_archives(profile)
    device = DeviceStack(vdevice, profile, "development")
    device.operation("purge")
    return device


def ok(op) -> str:
    out = "".join(s.stdout_tail + s.stderr_tail for s in op.steps)
    assert op.succeeded, out[-1500:]
    return out


def server_info(dev) -> dict:
    with open_client(dev, "admin") as cli:
        return cli.request("get_server_info")


def checksums(dev) -> dict[str, str]:
    result = dev.run("sudo find /var/recordings /var/snapshots -type f -exec sha256sum {} + | sort -k2", 60)
    return {line.split()[1]: line.split()[0] for line in result.stdout.splitlines()}


def test_install_1_0_0(dev, profile):
    ok(dev.operation("install", "1.0.0"))
    assert dev.installed_version() == "1.0.0"
    assert dev.run("systemctl is-active camera-service mediamtx").stdout.split() == ["active", "active"]
    assert dev.run("systemctl is-enabled camera-service mediamtx").stdout.split() == ["enabled", "enabled"]
    for user in ("camera-service", "mediamtx"):
        assert "video" in dev.run(f"id -nG {user}").stdout.split()
    assert dev.run("sudo stat -c %a /opt/camera-service/config/secrets.env").stdout.strip() == "600"
    dev.ensure_ready(60)
    info = server_info(dev)
    assert (info["version"], info["max_cameras"]) == ("1.0.0", 4)


def test_snapshot_is_a_vivid_jpeg(dev):
    with open_client(dev, "operator") as cli:
        cameras = cli.request("get_camera_list")["cameras"]
        assert cameras[0]["status"] == "CONNECTED" and "vivid" in cameras[0]["name"].lower()
        cli.request("take_snapshot", {"device": DEVICE, "filename": "story.jpg"})
    token = dev.credentials(api_keys=False).token("viewer")
    data = requests.get(f"{dev.files_base}/files/snapshots/story.jpg",
                        headers={"Authorization": f"Bearer {token}"}, timeout=30).content
    assert jpeg_size(data) == (640, 480)


def test_recording_is_playable(dev):
    with open_client(dev, "operator") as cli:
        rec = cli.request("start_recording", {"device": DEVICE, "duration": 3, "format": "mkv"})
        assert cli.wait_notification("recording_status_update", timeout=30,
                                     predicate=lambda f: f["params"]["status"] == "STOPPED")
    path = shlex.quote(f"/var/recordings/{rec['filename']}")
    probe = dev.run(f"ffprobe -v error -show_entries format=duration -of csv=p=0 {path}", 60)
    assert probe.exit_status == 0 and float(probe.stdout.strip()) > 1.0, probe.stderr
    Story.checksums = checksums(dev)
    assert len(Story.checksums) == 2


def test_camera_disconnect_is_visible(dev, profile):
    assert dev.run(profile.camera["remove"], 60).exit_status == 0
    try:
        health = requests.get(dev.health_url("cameras"), timeout=10)
        assert health.status_code == 500 and health.json()["status"] == "unhealthy"
        assert requests.get(dev.health_url("ready"), timeout=10).status_code == 503
        with open_client(dev, "viewer") as cli:
            assert cli.request("get_camera_list")["cameras"][0]["status"] == "DISCONNECTED"
    finally:
        assert dev.run(profile.camera["restore"], 60).exit_status == 0
    dev.ensure_ready(60)


def test_upgrade_to_1_1_0_keeps_data(dev):
    ok(dev.operation("upgrade", "1.1.0"))
    info = server_info(dev)
    assert (info["version"], info["max_cameras"]) == ("1.1.0", 8)
    assert checksums(dev) == Story.checksums


def test_rollback_restores_release_and_config_slowed_by_knob(dev):
    dev.set_faults({"slow_rollback": 4})
    started = time.monotonic()
    out = ok(dev.operation("rollback"))
    assert time.monotonic() - started >= 4 and "fault slow_rollback" in out
    info = server_info(dev)
    assert (info["version"], info["max_cameras"]) == ("1.0.0", 4)
    assert dev.run("test -e /opt/camera-service/config/faults.env").exit_status == 1  # config restored
    assert checksums(dev) == Story.checksums


def test_broken_release_upgrade_rolls_itself_back(dev, profile):
    op = dev.operation("upgrade", profile.deployment["broken"], wait_ready=False)
    assert op.failed_step is not None and "rolled back to 1.0.0" in op.failed_step.stderr_tail
    assert dev.installed_version() == "1.0.0"
    dev.ensure_ready(60)


def test_uninstall_keeps_data_and_reinstall_finds_it(dev):
    ok(dev.operation("uninstall"))
    assert dev.run("systemctl cat camera-service").exit_status != 0
    assert dev.run("test -e /opt/camera-service").exit_status == 1
    assert checksums(dev) == Story.checksums
    ok(dev.operation("install", "1.0.0"))
    dev.ensure_ready(60)
    with open_client(dev, "viewer") as cli:
        names = {f["filename"] for f in cli.request("list_snapshots")["files"]}
    assert "story.jpg" in names
