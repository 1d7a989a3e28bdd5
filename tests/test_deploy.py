"""ivv.ops.deployment: placeholders, timed operations, inventories and their diffs, unit and socket parsing."""

import subprocess
import time
from types import SimpleNamespace

import pytest

from ivv.errors import ProfileError
from ivv.ops import deployment as deploy


class _Shell:
    """A minimal local target running real commands; `sudo` stripped (tests run as the invoking user)."""

    name = "local-shell"

    def run(self, cmd, timeout=60, check=False):
        if cmd.startswith("sudo "):
            cmd = cmd[5:]
        start = time.monotonic()
        proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=timeout)
        return SimpleNamespace(exit_status=proc.returncode, stdout=proc.stdout, stderr=proc.stderr,
                               duration=time.monotonic() - start)


def test_render_fills_and_names_unknown_placeholders():
    assert deploy.render("install.sh {version} {environment}", {"version": "1.1", "environment": "prod"}) \
        == "install.sh 1.1 prod"
    with pytest.raises(ProfileError, match="placeholder {release}"):
        deploy.render("x {release}", {"version": "1"}, where="profile.yaml deployment.install")


def test_run_operation_times_to_ready_and_stops_at_first_failure():
    ready = SimpleNamespace(reached=True, elapsed_s=0.2, last={"status": "ready"})
    op = deploy.run_operation(_Shell(), "install", ["true", "sleep 0.1"], lambda t: ready, 5)
    assert op.succeeded and op.ready and op.total_s >= 0.1 and len(op.steps) == 2
    op = deploy.run_operation(_Shell(), "upgrade", ["false", "true"], lambda t: ready, 5)
    assert not op.succeeded and not op.ready and op.total_s is None and len(op.steps) == 1
    assert op.failed_step.command == "false"
    never = SimpleNamespace(reached=False, elapsed_s=5, last={"status": "not_ready"})
    op = deploy.run_operation(_Shell(), "install", ["true"], lambda t: never, 5)
    assert op.succeeded and not op.ready and op.total_s is None


def test_inventory_sees_content_mode_and_removal(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.jpg").write_bytes(b"one")
    (data / "b.mkv").write_bytes(b"two")
    shell = _Shell()
    before = deploy.file_inventory(shell, [str(data)])
    assert before[str(data / "a.jpg")]["type"] == "f"
    assert deploy.is_empty_diff(deploy.diff_inventory(before, deploy.file_inventory(shell, [str(data)])))
    (data / "a.jpg").write_bytes(b"changed")
    (data / "b.mkv").unlink()
    (data / "c.txt").write_text("new")
    (data / "c.txt").chmod(0o600)
    diff = deploy.diff_inventory(before, deploy.file_inventory(shell, [str(data)]))
    assert diff["removed"] == [str(data / "b.mkv")]
    assert diff["added"] == [str(data / "c.txt")]
    assert "sha256" in diff["changed"][str(data / "a.jpg")]
    sums = deploy.data_checksums(shell, [str(data), str(tmp_path / "missing")])
    assert set(sums) == {str(data / "a.jpg"), str(data / "c.txt")}


def test_unit_ok_requires_enabled_active_and_restart():
    good = {"LoadState": "loaded", "UnitFileState": "enabled", "ActiveState": "active", "Restart": "on-failure"}
    assert deploy.unit_ok(good)[0]
    for key, bad in [("UnitFileState", "disabled"), ("ActiveState", "failed"), ("Restart", "no"),
                     ("LoadState", "not-found")]:
        ok, reason = deploy.unit_ok(good | {key: bad})
        assert not ok and key in reason


def test_listening_parses_ss_output():
    out = ("LISTEN 0 128 0.0.0.0:8002 0.0.0.0:* users:((\"python3\",pid=1,fd=3))\n"
           "LISTEN 0 128 127.0.0.1:8080 0.0.0.0:* users:((\"ustreamer\",pid=2,fd=4))\n"
           "LISTEN 0 128 [::]:22 [::]:* users:((\"sshd\",pid=3,fd=5))\n")
    target = SimpleNamespace(run=lambda cmd, timeout=30: SimpleNamespace(stdout=out, exit_status=0))
    sockets = deploy.listening(target)
    assert deploy.addresses_on_port(sockets, 8080) == {"127.0.0.1"}
    assert deploy.addresses_on_port(sockets, 22) == {"::"}
    assert "python3" in sockets[0]["process"]
