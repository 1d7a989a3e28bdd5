"""The REST reference stack (deployment/stacks/capture-service) on this machine, through `ivv gate`, its
own profile and a short copy of its gate: the real service (stills from ffmpeg's test source, dated
folders, the transfer queue) as a local process tree, spoken to over the `http` protocol.

Clean, it PASSes the REST contract, the auth matrix, the capture figures (latency and success of
back-to-back captures), three transfers checked at both ends and its health, with every operation
answered with a 2xx somewhere (the spec's links give the record and transfer operations real ids).
Each fault knob FAILs its criterion with what shows it: `wrong_status` and `schema_drift` conformance,
`auth_bypass` the auth matrix, `slow_capture` the capture latency, `corrupt_transfer` (a flipped byte
reported verified) the transfer integrity ivv measures at both ends, `health_lies` (ready while the
stand-in camera, a link to a character device, is gone) the health criterion. On the virtual device
`make gate` runs the full gate (deployment, rollback, the vivid camera unloaded).
"""

from __future__ import annotations

import json

import pytest
import yaml

from tests.security_support import ROOT, leaked_secrets, records, run_gate, verdicts

STACK = ROOT / "deployment" / "stacks" / "capture-service"
GATE = ROOT / "deployment" / "gates" / "capture-service.yaml"
REST = ("contract.conformance", "contract.fuzz_robustness", "contract.http_compliance", "security.auth_enforced")
CAPTURES = ("perf.p95_ms", "perf.error_rate")
TRANSFER = ("data.transfer_integrity",)
HEALTH = ("ops.monitoring",)

pytestmark = pytest.mark.slow


def short_gate(tmp_path, p95_ms: float = 5000, min_calls: int = 30) -> str:
    """The shipped gate's criteria but deployment's, with a 10-second capture run and a 10-second bound
    on each health transition (a lying health endpoint is waited for that long)."""
    data = yaml.safe_load(GATE.read_text())
    data["gate"]["id"] = "capture-service-short"
    data["settings"]["load"]["duration_s"] = 10
    data["settings"]["load"]["min_calls"] = min_calls
    data["settings"]["contract"]["fuzz_examples"] = 25
    data["settings"]["integrity"]["transfer_trials"] = 3
    data["settings"]["health"]["ready_transition_timeout_s"] = 10   # a local process notices in about 1 s
    data["criteria"] = [c for c in data["criteria"] if c["id"] in REST + CAPTURES + TRANSFER + HEALTH]
    for criterion in data["criteria"]:
        if criterion["id"] == "perf.p95_ms":
            criterion["threshold"]["value"] = p95_ms
    path = tmp_path / "gate.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def gate(tmp_path, suites: str, faults: dict | None = None, p95_ms: float = 5000, min_calls: int = 30):
    inventory = tmp_path / "local.yaml"
    target = {"name": "local", "kind": "local", "environment": "development", **({"faults": faults} if faults else {})}
    inventory.write_text(yaml.safe_dump({"targets": [target]}))
    status, bundle, out = run_gate(tmp_path, ["--profile", str(STACK / "profile.yaml"), "--gate",
                                              short_gate(tmp_path, p95_ms, min_calls), "--inventory", str(inventory),
                                              "--suites", suites], {}, timeout=400)
    return status, bundle, out


def test_the_clean_capture_service_passes_its_api_and_capture_criteria(tmp_path):
    status, bundle, out = gate(tmp_path, "contract,security,performance,integrity,health")
    found = verdicts(bundle)
    assert status == 0 and found["decision"] == "PROCEED", out[-3000:]
    every = REST + CAPTURES + TRANSFER + HEALTH
    assert {c: found["criteria"][c]["verdict"] for c in every} == {c: "PASS" for c in every}
    table = next(r["details"]["table"] for r in records(bundle) if r["criterion"] == "contract.conformance"
                 and (r.get("details") or {}).get("table"))
    rows = {row[0]: row for row in table["rows"]}
    for operation in ("GET /captures/{capture_id}", "GET /transfers/{transfer_id}"):   # reached through links
        row = rows[f"{operation} conforms"]
        assert row[3] == "PASS" and "(200 x" in row[2], row     # a success answer, checked
    captures = next(r for r in records(bundle) if r["criterion"] == "perf.error_rate" and r["verdict"] == "PASS")
    assert "of 0" not in captures["name"], captures       # captures were made: a rate over none is no pass
    assert not [p for p in bundle.rglob("*") if p.is_file() and b"eyJ" in p.read_bytes()]   # no token


@pytest.mark.parametrize("knob, suites, criterion, shows", [
    ("wrong_status", "contract", "contract.conformance", "POST /captures conforms"),
    ("schema_drift", "contract", "contract.conformance", "GET /status conforms"),
    ("auth_bypass", "security", "security.auth_enforced", "GET /status with no credentials is refused"),
    # the stand-in camera taken away: /health must turn 503; with health_lies it stays 200 ready
    ("health_lies", "health", "ops.monitoring", "camera removed: camera health reports unhealthy"),
])
def test_a_capture_service_fault_fails_its_criterion(tmp_path, knob, suites, criterion, shows):
    status, bundle, out = gate(tmp_path, suites, {knob: 1})
    found = verdicts(bundle)
    assert status == 1 and found["criteria"][criterion]["verdict"] == "FAIL", out[-3000:]
    row = next(r for r in records(bundle) if r["criterion"] == criterion and r["verdict"] == "FAIL"
               and r["name"].endswith(shows))
    if criterion == "ops.monitoring":       # the answer that lied: 200 ready while the camera was gone
        assert '"status_code": 200' in json.dumps(row["observed"]) and "ready" in json.dumps(row["observed"]), row
    else:
        assert row["details"]["exchanges"] and shows.split()[1].split("{")[0] in row["details"]["exchanges"][0]["sent"]
    assert not leaked_secrets(bundle, {})


def test_a_corrupted_transfer_reported_verified_fails_transfer_integrity(tmp_path):
    """`corrupt_transfer`: one byte flipped on the way, and the service still says `verified`; ivv reads
    both files' sha256 itself, so both the bytes and the claim FAIL, in every trial."""
    status, bundle, out = gate(tmp_path, "integrity", {"corrupt_transfer": 1})
    found = verdicts(bundle)
    assert status == 1 and found["criteria"]["data.transfer_integrity"]["verdict"] == "FAIL", out[-3000:]
    failed = {r["name"] for r in records(bundle) if r["criterion"] == "data.transfer_integrity" and r["verdict"] == "FAIL"}
    assert {f"transfer {n}: destination equals the source (sha256 on the target)" for n in (1, 2, 3)} <= failed
    assert "transfer 1: the service's claim agrees with the measurement" in failed


def test_slow_captures_fail_the_capture_latency(tmp_path):
    """2 s added to every capture against a 1.5 s bound: p95 FAILs while every capture still succeeds (the
    gate asks for 3 captures: 10 s of 2-second captures make about 5), and those few successes do not show
    the success rate's "< 10 %" failing (that takes 29 captures without a failure): NOT VERIFIED."""
    status, bundle, out = gate(tmp_path, "performance", {"slow_capture": 2000}, p95_ms=1500, min_calls=3)
    found = verdicts(bundle)
    assert status == 1, out[-3000:]
    assert found["criteria"]["perf.p95_ms"]["verdict"] == "FAIL"
    rate = found["criteria"]["perf.error_rate"]
    assert rate["verdict"] == "NOT VERIFIED" and "0 of" in rate["reason"] and "at least 29 calls" in rate["reason"], rate


def test_too_few_captures_decide_no_capture_criterion(tmp_path):
    """The gate's load.min_calls: the same clean run, held to more captures than 10 s can make, leaves
    both capture criteria NOT VERIFIED with the count, never a rate claimed over too few."""
    status, bundle, out = gate(tmp_path, "performance", min_calls=100_000)
    found = verdicts(bundle)
    assert status == 1, out[-3000:]
    for criterion in CAPTURES:
        assert found["criteria"][criterion]["verdict"] == "NOT VERIFIED", found["criteria"][criterion]
        assert "fewer than the gate's load.min_calls 100000" in found["criteria"][criterion]["reason"]
