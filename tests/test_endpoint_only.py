"""Endpoint-only: `ivv gate --endpoint/--health/--contract` with no inventory and no profile, against the
reference service started by hand as plain processes. Install criteria must be NOT VERIFIED, never PASS."""

import argparse

import pytest
import yaml
from security_support import CONTRACT, dev_stack, records, run_gate, verdicts

from ivv.commands import endpoint
from ivv.config.gates import GateSet
from ivv.errors import ConfigError
from ivv.pytestplugin import endpoint as endpoint_plugin
from ivv.targets.endpoint import inventory_for

INSTALL_CRITERIA = [c.id for c in GateSet.load(["cdr-deployment", "production-readiness"]).criteria
                    if c.suite in endpoint_plugin.INSTALL_SUITES]


def _env(stack) -> dict:
    creds = stack.credentials
    return {"IVV_JWT_SECRET": creds["CAMERA_SERVICE_JWT_SECRET"],
            **{k: v for k, v in creds.items() if k.startswith("IVV_API_KEY_")}}


@pytest.mark.slow
def test_endpoint_only_gate_marks_install_criteria_not_verified(tmp_path):
    with dev_stack(tmp_path) as stack:
        status, bundle, output = run_gate(tmp_path, [
            "--endpoint", stack.endpoint, "--health", stack.health, "--contract", str(CONTRACT),
            "--suites", "health,security"], _env(stack))
    assert status == 1, output[-3000:]  # HOLD: nothing was deployed, so the gate cannot proceed
    criteria = verdicts(bundle)["criteria"]
    assert INSTALL_CRITERIA and {"ops.deploy", "ops.rollback_time", "ops.data_preserved"} <= set(INSTALL_CRITERIA)
    for cid in INSTALL_CRITERIA:
        assert criteria[cid]["verdict"] == "NOT VERIFIED", (cid, criteria[cid])
        assert "stack not deployed by ivv" in criteria[cid]["reason"]
    # what can be checked from outside was measured
    for cid in ("security.auth_enforced", "security.session_isolation", "security.no_default_credentials",
                "security.error_disclosure"):
        assert criteria[cid]["verdict"] == "PASS", (cid, criteria[cid])
    measured = {r["criterion"] for r in records(bundle) if r["kind"] in ("check", "measurement")}
    assert "ops.monitoring" in measured
    # limits and binds were not stated by anyone: not verified, with the reason, never guessed
    for cid in ("security.least_exposure", "security.request_limits"):
        assert criteria[cid]["verdict"] == "NOT VERIFIED" and "profile" in criteria[cid]["reason"]
    manifest = (bundle / "manifest.json").read_text()
    assert "endpoint-only" in manifest
    assert "not deployed by ivv" in (bundle / "gate-review.md").read_text()


def test_endpoint_options_go_together(tmp_path):
    status, _, output = run_gate(tmp_path, ["--endpoint", "ws://127.0.0.1:1/ws", "--contract", str(CONTRACT)], {})
    assert status == 2 and "missing: --health" in output


def test_endpoint_url_is_checked(tmp_path):
    status, _, output = run_gate(tmp_path, ["--endpoint", "http://127.0.0.1:1/ws", "--health",
                                            "http://127.0.0.1:1", "--contract", str(CONTRACT)], {})
    assert status == 2 and "--endpoint" in output and "ws://HOST:PORT" in output


def test_remote_host_gets_a_network_only_target():
    assert inventory_for("10.1.2.3")["targets"][0] == {
        "name": "service", "kind": "endpoint", "environment": "staging", "tags": ["endpoint-only"],
        "host": "10.1.2.3"}
    assert inventory_for("127.0.0.1")["targets"][0]["kind"] == "local"


def test_endpoint_only_profile_restricts_suites(tmp_path):
    profile = tmp_path / "profile.yaml"
    profile.write_text(yaml.safe_dump({"name": "x", "rpc": {"port": 1, "path": "/ws"},
                                       "health": {"port": 2, "endpoints": {"ready": {"path": "/r", "codes": {"ready": 200}}}}}))
    suites = tmp_path / "suites"
    for name in ("deployment", "rollback", "health", "security"):
        (suites / name).mkdir(parents=True)
    args = argparse.Namespace(endpoint=None, health=None, contract=None, profile=str(profile), inventory=None,
                              target=[], suites=None, suites_dir=str(suites), pytest_args=["--", "-x"])
    endpoint.prepare_gate(args, "run")
    assert args.suites == "health,security" and args.pytest_args == ["-p", "ivv.pytestplugin.endpoint", "-x"]
    # no inventory: the service runs on this machine (never the default virtual device)
    assert yaml.safe_load(open(args.inventory))["targets"][0]["kind"] == "local" and args.target == ["service"]


def test_missing_contract_is_named():
    with pytest.raises(ConfigError, match="--contract .*not found"):
        endpoint.build_profile("ws://127.0.0.1:1/ws", "http://127.0.0.1:2", "/nonexistent.json", found_health={})


def test_install_criteria_never_pass_even_with_passing_evidence(tmp_path):
    """The "not deployed" gap outweighs any PASS record a stray test might add for the same criterion."""
    from ivv.evidence.bundle import Bundle
    from ivv.evidence.journal import read_records
    from ivv.evidence.verdicts import derive

    gates = GateSet.load(["cdr-deployment"])
    bundle = Bundle.create(tmp_path, "run", gates=gates)
    ids = endpoint_plugin.record_not_deployed(gates, bundle, "dev")
    bundle.recorder(suite="deployment").check("ops.deploy", "a stray passing check", True)
    bundle.finish()
    verdict = derive(read_records(bundle.path / "evidence.jsonl"), gates)
    assert set(ids) == set(INSTALL_CRITERIA) & {c.id for c in gates.criteria}
    assert verdict["criteria"]["ops.deploy"]["verdict"] == "NOT VERIFIED"
    assert all(verdict["criteria"][cid]["verdict"] == "NOT VERIFIED" for cid in ids)
