"""A broken production overlay in the release (TLS off, loopback only) -> ops.env_config FAIL."""

import opsrun
import pytest
import yaml

pytestmark = [pytest.mark.vdevice, pytest.mark.extended]  # long: make test-extended


def test_fault_ops_env_config_broken_overlay(vdevice, tmp_path):
    ops = opsrun.stack_ops(vdevice)
    version = ops.current_version

    def break_overlay(root):
        overlay = root / f"camera-service-{version}" / "config" / "production.yaml"
        overlay.write_text(yaml.safe_dump({"server": {"host": "127.0.0.1", "tls": {"enabled": False}}}))

    archive = tmp_path / "releases" / f"camera-service-{version}.tar.gz"
    opsrun.repack_archive(ops.release(version)[0], archive, break_overlay)  # built if missing

    def use_broken_archive(data):
        data["deployment"]["archive"] = str(tmp_path / "releases" / "camera-service-{version}.tar.gz")

    profile = opsrun.profile_copy(tmp_path, use_broken_archive)
    gate = opsrun.gate_file(tmp_path, settings={"deployment.environments": ["production"]})
    run = opsrun.run_gate(tmp_path, vdevice, "deployment", gate, profile=profile,
                          pytest_args=["-k", "environment_configuration"], timeout=600)
    try:
        assert run.verdict("ops.env_config") == "FAIL", run.explain()
        tls = next(r for r in run.failing("ops.env_config") if "speaks TLS" in r["name"])
        assert tls["expected"] is True and tls["observed"]["tls"] is False
    finally:
        opsrun.restore_current(vdevice)
