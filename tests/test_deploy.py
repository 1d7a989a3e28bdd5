"""ivv.ops.deployment: placeholders, timed operations, inventories and their diffs, unit and socket parsing."""

import subprocess
import time
from types import SimpleNamespace

import pytest

from ivv.errors import ProfileError
from ivv.ops import commands, files, operation
from ivv.targets import facts


class _Shell:
    """A minimal local target running real commands; `sudo` stripped (tests run as the invoking user)."""

    name = "local-shell"

    def run(self, cmd, timeout=60, check=False):
        if cmd.startswith("sudo "):
            cmd = cmd[5:]
        start = time.monotonic()
        proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=timeout)
        return SimpleNamespace(command=cmd, exit_status=proc.returncode, stdout=proc.stdout, stderr=proc.stderr,
                               duration=time.monotonic() - start)


def test_render_fills_and_names_unknown_placeholders():
    assert commands.render("install.sh {version} {environment}", {"version": "1.1", "environment": "prod"}) \
        == "install.sh 1.1 prod"
    with pytest.raises(ProfileError, match="placeholder {release}"):
        commands.render("x {release}", {"version": "1"}, where="profile.yaml deployment.install")


def test_run_operation_times_to_ready_and_stops_at_first_failure():
    ready = SimpleNamespace(reached=True, elapsed_s=0.2, last={"status": "ready"})
    op = operation.run_operation(_Shell(), "install", ["true", "sleep 0.1"], lambda t: ready, 5)
    assert op.succeeded and op.ready and op.total_s >= 0.1 and len(op.steps) == 2
    op = operation.run_operation(_Shell(), "upgrade", ["false", "true"], lambda t: ready, 5)
    assert not op.succeeded and not op.ready and op.total_s is None and len(op.steps) == 1
    assert op.failed_step.command == "false"
    never = SimpleNamespace(reached=False, elapsed_s=5, last={"status": "not_ready"})
    op = operation.run_operation(_Shell(), "install", ["true"], lambda t: never, 5)
    assert op.succeeded and not op.ready and op.total_s is None


def test_inventory_sees_content_mode_and_removal(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.jpg").write_bytes(b"one")
    (data / "b.mkv").write_bytes(b"two")
    shell = _Shell()
    before = files.file_inventory(shell, [str(data)])
    assert before[str(data / "a.jpg")]["type"] == "f"
    assert files.is_empty_diff(files.diff_inventory(before, files.file_inventory(shell, [str(data)])))
    (data / "a.jpg").write_bytes(b"changed")
    (data / "b.mkv").unlink()
    (data / "c.txt").write_text("new")
    (data / "c.txt").chmod(0o600)
    diff = files.diff_inventory(before, files.file_inventory(shell, [str(data)]))
    assert diff["removed"] == [str(data / "b.mkv")]
    assert diff["added"] == [str(data / "c.txt")]
    assert "sha256" in diff["changed"][str(data / "a.jpg")]
    sums = files.data_checksums(shell, [str(data), str(tmp_path / "missing")])
    assert set(sums) == {str(data / "a.jpg"), str(data / "c.txt")}


def test_unit_ok_requires_enabled_active_and_restart():
    good = {"LoadState": "loaded", "UnitFileState": "enabled", "ActiveState": "active", "Restart": "on-failure"}
    assert facts.unit_ok(good)[0]
    for key, bad in [("UnitFileState", "disabled"), ("ActiveState", "failed"), ("Restart", "no"),
                     ("LoadState", "not-found")]:
        ok, reason = facts.unit_ok(good | {key: bad})
        assert not ok and key in reason


def test_listeners_parse_ss_output():
    out = ("LISTEN 0 128 0.0.0.0:8002 0.0.0.0:* users:((\"python3\",pid=1,fd=3))\n"
           "LISTEN 0 128 127.0.0.1:8080 0.0.0.0:* users:((\"ustreamer\",pid=2,fd=4))\n"
           "LISTEN 0 128 [::]:22 [::]:* users:((\"sshd\",pid=3,fd=5))\n")
    sockets = facts.parse_ss(out)
    assert {s.address for s in sockets if s.port == 8080} == {"127.0.0.1"}
    assert {s.address for s in sockets if s.port == 22} == {"::"}
    assert sockets[0].process == "python3" and sockets[0].pid == 1
    assert facts.normalise_address("*") == "0.0.0.0" and facts.normalise_address("[::]") == "::"
