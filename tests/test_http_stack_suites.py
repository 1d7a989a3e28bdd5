"""The shipped contract and security suites against a REST stack, through `ivv gate` and the `http`
protocol (tests/stubs/capture-stub.profile.yaml, endpoint-only on this machine): no suite knows the
protocol, the clean stub PROCEEDs on the five REST criteria, the checks only JSON-RPC offers are not part
of the run (nothing of them is recorded, nothing left undecided), and a misbehaving stub FAILs the
criterion its fault breaks, with the exchange in the bundle and no secret in it."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys

import pytest

from tests.security_support import DEV_INVENTORY, free_ports, leaked_secrets, records, run_gate, verdicts
from tests.stub_support import STUBS

PROFILE = STUBS / "capture-stub.profile.yaml"
GATE = STUBS / "capture-stub.gate.yaml"
REST = ("contract.conformance", "contract.fuzz_robustness", "contract.http_compliance", "security.auth_enforced",
        "security.session_isolation")
JSONRPC_ONLY = ("test_drift_table", "test_param_boundaries", "test_jsonrpc_compliance_matrix",
                "test_recording_notifications", "test_hostile_tokens_refused", "test_tls_on_verified_plain_refused")

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def stub_stack(tmp_path, fault: str | None = None):
    """The stub on a free port, and the profile and environment that point ivv at it."""
    port, secret = free_ports(1)[0], secrets.token_urlsafe(32)
    keys = {role: secrets.token_urlsafe(24) for role in ("viewer", "operator", "admin", "revoked")}
    proc = subprocess.Popen([sys.executable, str(STUBS / "capture_stub.py"), secret, *([fault] if fault else [])],
                            stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "CAPTURE_STUB_PORT": str(port), "CAPTURE_STUB_KEYS": json.dumps(keys)})
    try:
        assert proc.stdout.readline().startswith("PORT "), "the capture stub did not start"
        text = PROFILE.read_text().replace("port: 18190", f"port: {port}")
        text = text.replace("contract: capture-stub.openapi.yaml", f"contract: {STUBS / 'capture-stub.openapi.yaml'}")
        profile = tmp_path / "profile.yaml"
        profile.write_text(text)
        yield profile, {"CAPTURE_STUB_JWT_SECRET": secret, "CAPTURE_STUB_REVOKED_KEY": keys.pop("revoked"),
                        **{f"CAPTURE_STUB_KEY_{role.upper()}": key for role, key in keys.items()}}
    finally:
        proc.kill()
        proc.wait(10)


def gate(tmp_path, fault=None):
    with stub_stack(tmp_path, fault) as (profile, env):
        status, bundle, out = run_gate(tmp_path, ["--profile", str(profile), "--gate", str(GATE), "--inventory",
                                                  str(DEV_INVENTORY), "--suites", "contract,security"], env)
        return status, bundle, out, env


def test_the_clean_rest_stub_proceeds_through_the_shipped_suites(tmp_path):
    status, bundle, out, env = gate(tmp_path)
    found = verdicts(bundle)
    assert status == 0 and found["decision"] == "PROCEED", out[-3000:]
    assert {c: found["criteria"][c]["verdict"] for c in REST} == {c: "PASS" for c in REST}
    tests = {r["test"].split("::")[1].split("[")[0] for r in records(bundle) if r.get("test")}
    assert tests == {"test_every_method_conforms", "test_fuzz_robustness", "test_http_compliance_matrix",
                     "test_auth_matrix", "test_clients_kept_apart"}, tests
    assert not tests & set(JSONRPC_ONLY)
    tables = {r["details"]["table"]["title"] for r in records(bundle) if (r.get("details") or {}).get("table")}
    assert {"operation conformance", "HTTP compliance matrix", "auth matrix"} <= tables
    # every request carried a bearer JWT (they all start "eyJ"); none is readable in the bundle
    assert not leaked_secrets(bundle, env)
    assert not [str(p) for p in bundle.rglob("*") if p.is_file() and b"eyJ" in p.read_bytes()]


@pytest.mark.parametrize("fault, criterion, shows, also", [
    ("schema_drift", "contract.conformance", "GET /status conforms", ()),
    ("auth_bypass", "security.auth_enforced", "GET /status with no credentials is refused", ()),
    ("role_bypass", "security.auth_enforced", "POST /captures as viewer is refused", ()),  # tokens of each role
    # API keys from the profile's environment variables, each in the place the spec names
    ("key_bypass", "security.auth_enforced", "GET /status with a forged API key (query api_key) is refused", ()),
])
def test_a_rest_fault_fails_its_criterion_through_the_shipped_suites(tmp_path, fault, criterion, shows, also):
    status, bundle, out, env = gate(tmp_path, fault)
    found = verdicts(bundle)
    assert status == 1 and found["criteria"][criterion]["verdict"] == "FAIL", out[-3000:]
    others = {c: found["criteria"][c]["verdict"] for c in REST if c != criterion}
    assert others == {c: "FAIL" if c in also else "PASS" for c in others}, others
    failing = [r for r in records(bundle) if r["criterion"] == criterion and r["verdict"] == "FAIL"]
    row = next(r for r in failing if r["name"].endswith(shows))
    path = shows.split()[1]
    assert row["details"]["exchanges"] and path in row["details"]["exchanges"][0]["sent"]
    assert not leaked_secrets(bundle, env)


def test_a_role_kept_per_connection_fails_session_isolation_through_the_shipped_suites(tmp_path):
    """`connection_auth` (a keep-alive connection keeps the role its first credential opened): the session
    probe's bare request on the admin client's connection is answered, and so are the auth matrix's hostile
    tokens sent after its control on one connection; the contract criteria still PASS."""
    status, bundle, out, env = gate(tmp_path, "connection_auth")
    found = verdicts(bundle)
    got = {c: found["criteria"][c]["verdict"] for c in REST}
    assert status == 1 and got == {**{c: "PASS" for c in REST}, "security.session_isolation": "FAIL",
                                   "security.auth_enforced": "FAIL"}, (got, out[-3000:])
    row = next(r for r in records(bundle) if r["criterion"] == "security.session_isolation" and r["verdict"] == "FAIL")
    assert "on the admin client's keep-alive connection was answered 200" in str(row["observed"]), row
    assert not leaked_secrets(bundle, env)
