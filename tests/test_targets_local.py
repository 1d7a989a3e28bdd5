"""The `local` target kind, the Target base and the target/host fixtures (no virtual device)."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ivv.errors import CapabilityMissing, InventoryError, TargetError
from ivv.targets import create_target, target_kinds
from ivv.targets.base import CommandTimeout, parse_facts
from ivv.targets.local import LocalTarget

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def local():
    return LocalTarget(name="local", environment="local")


def test_registry_knows_the_three_kinds():
    kinds = target_kinds()
    assert {"local", "ssh", "qemu"} <= set(kinds)
    assert kinds["qemu"].capabilities >= {"shell", "files", "power", "reset", "link"}
    assert create_target("local", "here").kind == "local"
    with pytest.raises(InventoryError, match="unknown kind 'serial'"):
        create_target("serial", "x")


def test_run_reports_exit_status_streams_and_duration(local):
    result = local.run("echo out; echo err >&2; sleep 0.2; exit 3")
    assert (result.exit_status, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert not result.succeeded
    assert 0.2 <= result.duration < 5
    assert local.run("true").succeeded


def test_run_check_raises_with_the_output(local):
    with pytest.raises(TargetError, match="exited 4: nope"):
        local.run("echo nope >&2; exit 4", check=True)


def test_run_timeout_is_bounded_and_kills_the_command(local, tmp_path):
    marker = tmp_path / "late"
    started = time.monotonic()
    with pytest.raises(CommandTimeout):
        local.run(f"sleep 3; touch {marker}", timeout=0.5)
    assert time.monotonic() - started < 2
    time.sleep(3)
    assert not marker.exists(), "the timed-out command kept running"


def test_put_get_round_trip_with_mode(local, tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(4096))
    local.put(source, str(tmp_path / "remote.bin"), mode=0o640)
    assert (tmp_path / "remote.bin").stat().st_mode & 0o777 == 0o640
    local.get(str(tmp_path / "remote.bin"), tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == source.read_bytes()


def test_facts_describe_this_machine(local):
    facts = local.facts()
    assert facts["kernel"] == platform.release()
    assert facts["hostname"] == socket.gethostname()
    assert facts["cores"] == os.cpu_count()
    assert facts["memory_mb"] > 100
    assert facts["video0"] == os.path.exists("/dev/video0")
    assert facts["python"]  # python3 on PATH answers with its version
    assert facts["os_release"]["id"]
    assert facts["kind"] == "local" and facts["name"] == "local"


def test_parse_facts_types_and_missing_camera():
    facts = parse_facts("cores=4\nmemory_kb=2048000\nvideo0=no\nkernel=6.1.0\nuptime_s=12.5\n")
    assert facts["cores"] == 4 and facts["memory_mb"] == 2000 and facts["uptime_s"] == 12.5
    assert facts["video0"] is False and "video0_group" not in facts


def test_local_address_and_missing_capabilities(local):
    assert local.address(8002) == ("127.0.0.1", 8002)
    for action in (local.power_cycle, local.reset, lambda: local.link(False)):
        with pytest.raises(CapabilityMissing, match="local"):
            action()
    with pytest.raises(CapabilityMissing, match="lacks link, power"):
        local.require("shell", "power", "link")
    local.require("shell", "files")


def test_testinfra_host_for_local(local, tmp_path):
    (tmp_path / "f").write_text("x")
    host = local.testinfra_host()
    assert host.file(str(tmp_path / "f")).exists
    assert not host.file(str(tmp_path / "missing")).exists
    assert host.run("echo hi").stdout.strip() == "hi"


def test_target_and_host_fixtures_are_parametrised_with_readable_ids(tmp_path):
    """A suite sees `target`/`host` for each --ivv-target, with the target name as the test id."""
    (tmp_path / "test_suite.py").write_text(textwrap.dedent("""
        def test_probe(target, host, request):
            assert target.kind == "local"
            assert host.file("/").is_directory
            assert request.node.ivv_target_name == target.name
            assert "_testinfra_host" not in request.fixturenames  # ours, not testinfra's --hosts fixture
    """))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           "--rootdir", str(tmp_path), str(tmp_path / "test_suite.py"), "--ivv-target", "local",
                           "-v"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "test_probe[local] PASSED" in proc.stdout


@pytest.fixture
def active_bundle(tmp_path):
    from ivv.evidence import bundle as bundle_lib

    bundle = bundle_lib.Bundle.create(tmp_path / "reports", "run-targets")
    bundle_lib.set_current(bundle)
    yield bundle
    bundle_lib.set_current(None)


def test_pool_puts_target_facts_into_the_bundle_manifest(active_bundle):
    import json

    from ivv.fixtures.targets import TargetPool

    from ivv.config.inventory import load_inventory

    pool = TargetPool(load_inventory())
    target = pool.get("local")
    assert pool.get("local") is target        # one instance per name per session
    pool.close()
    manifest = json.loads((active_bundle.path / "manifest.json").read_text())
    facts = manifest["targets"]["local"]
    assert facts["kernel"] == platform.release() and facts["kind"] == "local"
    assert facts["environment"] == "local"
