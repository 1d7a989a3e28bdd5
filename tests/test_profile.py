"""ivv.config.profile: the reference profile loads; endpoint-only profiles are valid; bad ones name file, line, field."""

import textwrap

import pytest

from ivv.config import profile as profile_mod
from ivv.errors import ProfileError

ENDPOINT_ONLY = """\
name: someone-elses-stack
rpc: {port: 9002, path: /rpc}
health:
  port: 9003
  endpoints:
    ready: {path: /ready, codes: {ready: 200, not_ready: 503}}
"""


def write(tmp_path, text, name="profile.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_reference_profile_describes_the_stack():
    p = profile_mod.load()
    assert p.name == "camera-service" and not p.endpoint_only
    assert p.units == ["camera-service", "mediamtx"]
    assert p.contract_path.is_file() and p.runbook_path.is_file()
    assert p.rpc_url("127.0.0.1", 1234, "production") == "wss://127.0.0.1:1234/ws"
    assert p.rpc_url("127.0.0.1", 1234, "development") == "ws://127.0.0.1:1234/ws"
    assert p.health_url("ready", "h", 8003) == "http://h:8003/health/ready"
    assert p.bind("rpc", "local") == "127.0.0.1"
    assert p.archive("1.0.0").name == "camera-service-1.0.0.tar.gz"
    assert any("install.sh --env {environment}" in c for c in p.commands("install"))
    assert p.fault_env({"slow_ms": 200, "health_lies": True}) == {
        "CAMERA_SERVICE_FAULT_SLOW_MS": "200", "CAMERA_SERVICE_FAULT_HEALTH_LIES": "1"}
    assert p.deployment["previous"] in p.deployment["versions"]


def test_endpoint_only_profile_is_valid_but_cannot_deploy(tmp_path):
    p = profile_mod.load(write(tmp_path, ENDPOINT_ONLY))
    assert p.endpoint_only and p.units == [] and p.local is None
    assert p.health_url("ready", "10.0.0.5") == "http://10.0.0.5:9003/ready"
    with pytest.raises(ProfileError, match="endpoint-only"):
        p.commands("install")
    with pytest.raises(ProfileError, match="no `faults` section"):
        p.fault_env({"slow_ms": 1})


@pytest.mark.parametrize("change,where,words", [
    (("rpc: {port: 9002, path: /rpc}", "rpc: {port: '9002', path: /rpc}"), ":2:", ["rpc.port", "wrong type"]),
    (("rpc: {port: 9002, path: /rpc}", "rpc: {port: 70000, path: /rpc}"), ":2:", ["rpc.port", "70000"]),
    (("rpc: {port: 9002, path: /rpc}", "rpc: {port: 9002, path: rpc}"), ":2:", ["rpc.path", "starting with /"]),
    (("name: someone-elses-stack", "name: Bad Name"), ":1:", ["name", "lowercase"]),
    (("name: someone-elses-stack", "name: x\nportz: 1"), ":2:", ["portz", "allowed fields"]),
    (("    ready: {path: /ready,", "    live: {path: /ready,"), "", ["ready_endpoint", "live"]),
])
def test_bad_profiles_name_file_line_and_field(tmp_path, change, where, words):
    path = write(tmp_path, ENDPOINT_ONLY.replace(*change))
    with pytest.raises(ProfileError) as err:
        profile_mod.load(path)
    message = str(err.value)
    assert str(path) in message and where in message
    for word in words:
        assert word in message


def test_missing_health_and_cross_field_errors(tmp_path):
    path = write(tmp_path, "name: x\nrpc: {port: 1, path: /}\n")
    with pytest.raises(ProfileError, match="'health' is missing"):
        profile_mod.load(path)
    deploy = ENDPOINT_ONLY + textwrap.dedent("""\
        deployment:
          versions: [1.0.0]
          current: 2.0.0
          archive: r-{version}.tgz
          install: ./install.sh
          uninstall: ./uninstall.sh
        """)
    with pytest.raises(ProfileError, match=r"profile.yaml:\d+: deployment.current: 2.0.0 is not one of"):
        profile_mod.load(write(tmp_path, deploy))
    with pytest.raises(ProfileError, match="contract: file not found"):
        profile_mod.load(write(tmp_path, ENDPOINT_ONLY + "contract: nowhere.json\n"))
    with pytest.raises(ProfileError, match="file not found"):
        profile_mod.load(tmp_path / "absent.yaml")


def test_unknown_fault_knob_is_named():
    p = profile_mod.load()
    with pytest.raises(ProfileError, match="faults.knobs has no 'slowness'"):
        p.fault_env({"slowness": 1})


def test_reference_runbook_has_the_operator_procedures():
    from ivv.ops import runbook
    p = profile_mod.load()
    commands = runbook.extract_file(p.runbook_path)
    procedures = {c.procedure.lower() for c in commands}
    assert {"install", "status", "logs", "rollback"} <= procedures
    archive = p.upload_path(p.deployment["current"])
    assert any(archive in c.command for c in commands if c.procedure == "Install")
