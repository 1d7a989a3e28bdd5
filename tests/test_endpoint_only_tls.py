"""A service ivv did not deploy, reached over wss://: `ivv gate --endpoint wss://...` judges its transport
security as it runs. With the CA its clients trust named in the inventory it PASSes; with nothing named,
the system trust store cannot verify a private CA's certificate, so it FAILs, never a PASS on a
certificate no client could verify."""

from __future__ import annotations

import pytest
import yaml
from security_support import CONTRACT, records, run_gate, verdicts

from ivv.rpc.tls import LabCa
from ivv.stack.local import enable_tls, prepare_local

CRITERION = "security.transport_tls"
ONLY_TRANSPORT = ["--suites", "security", "--", "-k", "test_tls_on_verified_plain_refused"]


@pytest.mark.slow
def test_endpoint_only_wss_service_is_judged_as_it_runs(tmp_path, profile):
    stack = prepare_local(profile, tmp_path / "stack")
    lab = LabCa(tmp_path)
    enable_tls(stack, *lab.write_pair("127.0.0.1"))
    env = {"IVV_JWT_SECRET": stack.jwt_secret, "IVV_API_KEY_REVOKED": stack.revoked_api_key,
           **{f"IVV_API_KEY_{role.upper()}": key for role, key in stack.api_keys.items()}}
    endpoint = ["--endpoint", f"wss://127.0.0.1:{stack.rpc_port}/ws",
                "--health", f"http://127.0.0.1:{stack.health_port}", "--contract", str(CONTRACT)]
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(yaml.safe_dump({"targets": [{"name": "service", "kind": "local", "environment": "staging",
                                                      "tls": {"ca_file": str(lab.ca_file)}}]}))
    with stack:
        stack.start_component("media")
        stack.start_component("service")
        stack.ensure_ready(30)
        _, trusted, out = run_gate(tmp_path / "trusted", [*endpoint, "--inventory", str(inventory),
                                                          "--target", "service", *ONLY_TRANSPORT], env)
        _, untrusted, out2 = run_gate(tmp_path / "untrusted", [*endpoint, *ONLY_TRANSPORT], env)
    assert verdicts(trusted)["criteria"][CRITERION]["verdict"] == "PASS", out[-3000:]
    assert verdicts(untrusted)["criteria"][CRITERION]["verdict"] == "FAIL", out2[-3000:]
    failing = {r["name"]: r for r in records(untrusted) if r["criterion"] == CRITERION and r["verdict"] == "FAIL"}
    assert "unable to get local issuer certificate" in failing["certificate verifies for 127.0.0.1"]["observed"]
    facts = next(r for r in records(trusted) if r["name"] == "certificate verifies for 127.0.0.1")["details"]
    assert facts["environment"] == "staging" and "setup" in facts and not facts["setup"]  # judged as it runs
