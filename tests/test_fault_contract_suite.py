"""The contract suite run for real (a subprocess pytest against a local reference stack), healthy and with
each fault knob set: every contract criterion PASSes on the healthy stack and FAILs, with the evidence a
reviewer needs (method, role, exchange, JSON path, minimal reproducer), when the stack misbehaves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ivv.config import profile as profile_lib
from ivv.contract.document import load as load_contract
from ivv.contract.fuzz import replay
from ivv.contract.probe import Probe
from ivv.stack.local import start_local

ROOT = Path(__file__).resolve().parent.parent
SUITES = ROOT / "suites"
# the contract suite and the two files of the security suite that decide from the JSON-RPC contract
CONTRACT_FILES = ["contract", "security/test_auth.py", "security/test_transport.py"]
GATE = ROOT / "deployment" / "gates" / "production-readiness.yaml"
CONTRACT_CRITERIA = ("contract.jsonrpc_compliance", "security.auth_enforced", "contract.conformance",
                     "contract.fuzz_robustness", "contract.notifications", "security.transport_tls")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gate_file(tmp_path_factory) -> Path:
    """The production-readiness gate with a self-test fuzz budget (the real gate keeps its own)."""
    data = yaml.safe_load(GATE.read_text())
    data.setdefault("settings", {}).setdefault("contract", {}).update(
        {"fuzz_examples": 60, "fuzz_seconds": 20, "fuzz_shrink_seconds": 40, "notification_silence_s": 0.5})
    path = tmp_path_factory.mktemp("gate") / "production-readiness.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run_suite(tmp_path: Path, gate_file: Path, tests: list[str], knobs: dict[str, str],
              extra: list[str] = ()) -> tuple[dict, list[dict], str]:
    """Run suite files (relative to suites/) in a fresh pytest process with fault knobs; returns (verdicts,
    records, output)."""
    prefix = profile_lib.load(profile_lib.DEFAULT_PROFILE).faults["prefix"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefix)}
    env.update({prefix + k.upper(): str(v) for k, v in knobs.items()})
    cmd = [sys.executable, "-m", "pytest", *[str(SUITES / t) for t in tests], "--ivv-gate", str(gate_file),
           "--ivv-target", "local", "--ivv-reports", str(tmp_path), "--ivv-run-id", "run", "-p", "no:cacheprovider", "-q",
           "--timeout", "150", *extra]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=170)
    bundle = tmp_path / "run"
    assert (bundle / "verdicts.json").exists(), f"no verdicts; pytest said:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}"
    verdicts = json.loads((bundle / "verdicts.json").read_text())
    records = [json.loads(line) for line in (bundle / "evidence.jsonl").read_text().splitlines() if line.strip()]
    return verdicts, records, proc.stdout + proc.stderr


def verdict(verdicts: dict, criterion: str) -> str:
    return verdicts["criteria"][criterion]["verdict"]


def fails(records: list[dict], criterion: str) -> list[dict]:
    return [r for r in records if r.get("criterion") == criterion and r.get("verdict") == "FAIL"]


def test_reference_stack_passes_the_contract_suite(tmp_path, gate_file):
    verdicts, records, out = run_suite(tmp_path, gate_file, CONTRACT_FILES, {})
    assert {c: verdict(verdicts, c) for c in CONTRACT_CRITERIA} == {c: "PASS" for c in CONTRACT_CRITERIA}, out[-3000:]
    tables = [r["details"]["table"]["title"] for r in records if (r.get("details") or {}).get("table")]
    for title in ("JSON-RPC 2.0 compliance matrix", "auth and roles matrix", "drift: documented vs observed"):
        assert title in tables
    report = (tmp_path / "run" / "gate-review.md").read_text()
    assert "JSON-RPC 2.0 compliance matrix" in report and "auth and roles matrix" in report
    # Hundreds of tokens and API keys were sent; none may be readable in the bundle (a JWT starts "eyJ",
    # the reference stack's API keys "csk_"), while the redaction mask shows they were there.
    leaked = [str(p) for p in (tmp_path / "run").rglob("*") if p.is_file()
              and any(marker in p.read_bytes() for marker in (b"eyJ", b"csk_"))]
    assert not leaked, leaked
    auth_log = next((tmp_path / "run" / "artifacts").rglob("auth-exchanges.txt")).read_text()
    assert auth_log.count("[REDACTED]") >= 10  # one authenticate row per credential that is a token or key


def test_fault_security_auth_enforced_auth_bypass(tmp_path, gate_file):
    verdicts, records, out = run_suite(tmp_path, gate_file, ["security/test_auth.py"], {"auth_bypass": "1"})
    assert verdict(verdicts, "security.auth_enforced") == "FAIL", out[-2000:]
    rows = [r for r in fails(records, "security.auth_enforced") if (r.get("details") or {}).get("method")]
    assert rows, "no failing row names a method"
    bypassed = [r for r in rows if r["details"]["method"] == "get_metrics"]
    assert bypassed and {r["details"]["credential"] for r in bypassed} >= {"no_token", "viewer", "operator"}
    first = bypassed[0]
    assert "SUCCEEDED" in first["observed"] and "get_metrics" in first["name"]
    assert '"method": "get_metrics"' in first["details"]["exchanges"][0]["sent"]  # the exact request
    assert all(r["details"]["method"] == "get_metrics" for r in rows)  # nothing else misreported


def test_fault_contract_jsonrpc_compliance_wrong_error_codes(tmp_path, gate_file):
    verdicts, records, out = run_suite(tmp_path, gate_file, ["contract/test_compliance.py"], {"wrong_error_codes": "1"})
    assert verdict(verdicts, "contract.jsonrpc_compliance") == "FAIL", out[-2000:]
    by_name = {r["name"]: r for r in fails(records, "contract.jsonrpc_compliance")}
    row = by_name["JSON-RPC 2.0 compliance matrix: method not found"]
    exchange = row["details"]["exchanges"][0]
    assert "ivv_no_such_method" in exchange["sent"] and '"code": -32600' in exchange["received"][0]
    assert "JSON-RPC 2.0 compliance matrix: insufficient role: viewer calls take_snapshot" in by_name
    assert row["artifacts"] and row["artifacts"][0]["path"].endswith("compliance-exchanges.txt")


def test_fault_contract_conformance_drop_field(tmp_path, gate_file):
    verdicts, records, out = run_suite(tmp_path, gate_file, ["contract/test_conformance.py"],
                                       {"drop_field": "get_camera_list.total"})
    assert verdict(verdicts, "contract.conformance") == "FAIL", out[-2000:]
    violations = [r for r in fails(records, "contract.conformance") if r["name"] == "result schema violations"]
    assert violations, "no violation table"
    rows = violations[0]["details"]["table"]["rows"]
    assert ["get_camera_list", "$.total", "required"] in [row[:3] for row in rows]
    drift_rows = [r for r in fails(records, "contract.conformance") if "drift" in r["name"]]
    assert any("missing ['total']" in r["observed"] for r in drift_rows)
    # present but non-conforming is not missing: the two are reported apart
    present = next(r for r in records if r.get("name") == "methods present on the service")
    assert present["verdict"] == "PASS" and "missing (method not found) none" in present["observed"]
    assert "results that break their schema: ['get_camera_list']" in present["observed"]


def test_drift_table_alone_decides_nothing(tmp_path, gate_file):
    """With nothing called first, every drift row has nothing to compare: NOT VERIFIED, not PASS."""
    verdicts, records, out = run_suite(tmp_path, gate_file, ["contract/test_conformance.py"], {}, ["-k", "drift"])
    assert verdict(verdicts, "contract.conformance") == "NOT VERIFIED", out[-2000:]
    assert not [r for r in records if r.get("criterion") == "contract.conformance" and r.get("verdict") == "PASS"]


def test_fault_contract_fuzz_robustness_crash(tmp_path, gate_file):
    # crash_on: the service dies when take_snapshot's filename is a string over 100 characters. The
    # coverage pass meets it (every kind of bad input on every param), hypothesis shrinks it to the
    # boundary, and the replay on a restarted service must crash it again.
    knobs = {"crash_on": "take_snapshot.filename"}
    verdicts, records, out = run_suite(tmp_path, gate_file, ["contract/test_fuzz.py"], knobs)
    assert verdict(verdicts, "contract.fuzz_robustness") == "FAIL", out[-2000:]
    crashes = [r for r in fails(records, "contract.fuzz_robustness") if r["name"].endswith(": crash")]
    assert crashes, [r["name"] for r in fails(records, "contract.fuzz_robustness")]
    details = crashes[0]["details"]
    assert details["reproduced"] is True and details["shrunk"] is True
    frame = details["minimal_frame"]
    sent = json.loads(frame)
    assert sent["method"] == "take_snapshot" and crashes[0]["name"] == "fuzz take_snapshot: crash"
    assert len(sent["params"]["filename"]) == 101  # shrunk to the exact limit: 101 characters crash, 100 do not

    # Re-running the recorded reproducer reproduces the crash, and a healthy stack copes with it.
    profile = profile_lib.load(profile_lib.DEFAULT_PROFILE)
    contract = load_contract(profile.contract_path)
    for faults, expected in ((knobs, "crash"), ({}, None)):
        with start_local(profile, tmp_path / f"replay-{bool(faults)}", faults=faults) as stack:
            probe = Probe(stack.rpc_url, contract, stack.credentials(),
                          alive=lambda stack=stack: stack.ready(1).status_code is not None)
            assert replay(probe, frame, "take_snapshot") == expected

def test_fault_contract_notifications_drop_field(tmp_path, gate_file):
    verdicts, records, out = run_suite(tmp_path, gate_file, ["contract/test_notifications.py"],
                                       {"drop_field": "recording_status_update.filename"})
    assert verdict(verdicts, "contract.notifications") == "FAIL", out[-2000:]
    rows = [r for r in fails(records, "contract.notifications") if "->" in r["name"]]
    assert rows and all("recording_status_update notification at $.filename: required" in r["observed"]
                        for r in rows), [r["observed"] for r in rows]


def test_fault_contract_fuzz_robustness_file_traversal(tmp_path, gate_file):
    # file_traversal: snapshot names are no longer confined to the snapshots folder. The fuzzer's path
    # mutations aim at canary names only (never real system files), so this is safe to run as any user.
    data = yaml.safe_load(gate_file.read_text())
    data["settings"]["contract"].update({"fuzz_examples": 150, "fuzz_seconds": 30, "fuzz_methods": ["take_snapshot"]})
    narrow = tmp_path / "gate.yaml"
    narrow.write_text(yaml.safe_dump(data, sort_keys=False))
    try:
        verdicts, records, out = run_suite(tmp_path, narrow, ["contract/test_fuzz.py"], {"file_traversal": "1"})
    finally:
        for canary in Path("/tmp").glob("ivv-canary-fuzz*"):
            canary.unlink()
    assert verdict(verdicts, "contract.fuzz_robustness") == "FAIL", out[-2000:]
    found = [r for r in fails(records, "contract.fuzz_robustness") if r["name"].startswith("fuzz take_snapshot")
             or r["name"].startswith("fuzz *")]
    assert found, [r["name"] for r in fails(records, "contract.fuzz_robustness")]
    kinds = {r["name"].rsplit(": ", 1)[1] for r in found}
    assert kinds & {"accepted-invalid", "wrote-outside"}, kinds
    framed = [r for r in found if r["details"]["minimal_frame"]]  # cut at 4000 chars; the artifact has it all
    assert framed and all('"method": "take_snapshot"' in r["details"]["minimal_frame"] for r in framed)


def _local_inventory(tmp_path: Path, tls: dict) -> list[str]:
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump({"targets": [{"name": "local", "kind": "local", "environment": "local",
                                                 "tls": tls}]}))
    return ["--ivv-inventory", str(path)]


def test_fault_security_transport_tls_plain_ws(tmp_path, gate_file):
    verdicts, records, out = run_suite(tmp_path, gate_file, ["security/test_transport.py"], {"plain_ws": "1"})
    assert verdict(verdicts, "security.transport_tls") == "FAIL", out[-2000:]
    failing = {r["name"]: r for r in fails(records, "security.transport_tls")}
    assert "TLS handshake on the API port" in failing
    assert "plain ws:// session answered" in failing["plain ws:// refused on the API port"]["observed"]


@pytest.mark.parametrize("case", ["client trusts another CA", "client dials another name"])
def test_fault_security_transport_tls_client_cannot_verify(tmp_path, gate_file, case):
    """The certificate is served, TLS works, plain ws:// is refused, but the client cannot verify it."""
    import trustme

    if case == "client trusts another CA":
        other = tmp_path / "other-ca.pem"
        trustme.CA().cert_pem.write_to_path(str(other))
        tls, name, reason = {"ca_file": str(other)}, "127.0.0.1", "unable to get local issuer certificate"
    else:
        tls, name, reason = {"server_name": "camera.example.com"}, "camera.example.com", "Hostname mismatch"
    verdicts, records, out = run_suite(tmp_path, gate_file, ["security/test_transport.py"], {},
                                       _local_inventory(tmp_path, tls))
    assert verdict(verdicts, "security.transport_tls") == "FAIL", out[-2000:]
    failing = {r["name"]: r for r in fails(records, "security.transport_tls")}
    assert reason in failing[f"certificate verifies for {name}"]["observed"], failing
    assert "wss:// session, certificate verified" in failing
    passing = {r["name"] for r in records if r.get("criterion") == "security.transport_tls" and r.get("verdict") == "PASS"}
    assert {"TLS handshake on the API port", "plain ws:// refused on the API port"} <= passing


def test_fault_contract_notifications_notify_delay_ms(tmp_path, gate_file):
    """Notifications sent 60 ms after their event: arrival minus the stamped event time, less the clock
    offset's uncertainty, is still over the gate's 20 ms, so the criterion FAILs on that lower bound; the
    healthy stack PASSes on the upper bound (tests/test_contract_decisions.py has each bound's rule)."""
    verdicts, records, out = run_suite(tmp_path, gate_file, ["contract/test_notifications.py"], {"notify_delay_ms": "60"})
    assert verdict(verdicts, "contract.notifications") == "FAIL", out[-2000:]
    late = [r for r in fails(records, "contract.notifications") if r["kind"] == "measurement"]
    assert late and "latency from the event" in late[0]["name"] and late[0]["name"].endswith("at least"), late
    assert late[0]["value"] >= 50 and late[0]["details"]["clock"]["exchanges"] == 8, late


def test_fault_contract_notifications_notify_delay_ms_counted_from_the_reply(tmp_path, gate_file):
    """A gate that counts latency from the service's confirmation decides on the time after the reply
    alone: 60 ms late notifications FAIL it too."""
    data = yaml.safe_load(gate_file.read_text())
    data["settings"]["contract"]["notification_latency_from"] = "reply"
    reply_gate = tmp_path / "reply-gate.yaml"
    reply_gate.write_text(yaml.safe_dump(data, sort_keys=False))
    verdicts, records, out = run_suite(tmp_path, reply_gate, ["contract/test_notifications.py"], {"notify_delay_ms": "60"})
    assert verdict(verdicts, "contract.notifications") == "FAIL", out[-2000:]
    late = [r for r in fails(records, "contract.notifications") if r["kind"] == "measurement"]
    assert late and late[0]["name"].endswith("latency from the triggering reply") and late[0]["value"] >= 55, late
