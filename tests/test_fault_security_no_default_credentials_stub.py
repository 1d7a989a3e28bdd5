"""security.no_default_credentials on real stub services (tests/stubs/camera_stub.py): the configured
secret itself is judged (made of placeholder words, or shorter than HS256's 32 bytes: FAIL, the secret
never in the evidence); placeholder-signed logins answered as a success but refused after are not
"accepted"; with valid logins refused the placeholder probe proves nothing. The clean stub PASSes."""

from __future__ import annotations

import pytest
from stub_support import stub_fixture, verdict_of

from ivv.evidence import redact
from ivv.security import authn
from ivv.security.logins import SUCCESS_SHAPED
from ivv.security.wire import Transcript

CRITERION = "security.no_default_credentials"
camera_stub_fixture = stub_fixture()


def judged(tmp_path, stub):
    verdict, records = verdict_of(tmp_path, CRITERION, authn.placeholder_secret_probe(stub.surface(), Transcript()))
    return verdict, {r.name: r for r in records}


def test_clean_stub_has_no_default_credentials(camera_stub, tmp_path):
    verdict, records = judged(tmp_path, camera_stub())
    assert verdict == "PASS", {n: r.observed for n, r in records.items()}
    assert "the same claims signed with the configured secret are accepted (control)" in records


@pytest.mark.parametrize("secret, why", [
    ("change-this-default-secret-in-production-please", "made of placeholder words only"),
    ("Kq7-x9Lm2", "9 bytes, shorter than the 32 bytes HS256 needs (RFC 7518 section 3.2)"),
])
def test_fault_security_no_default_credentials_weak_configured_secret(camera_stub, tmp_path, secret, why):
    verdict, records = judged(tmp_path, camera_stub(secret=secret))
    assert verdict == "FAIL"
    judgement = records["the configured JWT secret is no placeholder"]
    assert judgement.verdict == "FAIL" and why in judgement.observed
    assert records["no placeholder JWT secret accepted"].verdict == "PASS"  # no placeholder signs in
    written = "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())
    assert secret not in written and redact.redact(secret) != secret  # registered, and never written


def test_fault_security_no_default_credentials_success_shaped_refusal_is_no_acceptance(camera_stub, tmp_path):
    verdict, records = judged(tmp_path, camera_stub("success_shaped_login"))
    assert verdict == "FAIL"
    assert records["no placeholder JWT secret accepted"].verdict == "PASS"
    assert "accepted:" not in records["no placeholder JWT secret accepted"].observed
    assert records[f"no placeholder JWT secret accepted: {SUCCESS_SHAPED}"].verdict == "FAIL"


def test_placeholder_probe_without_a_working_control_decides_nothing(camera_stub, tmp_path):
    verdict, records = judged(tmp_path, camera_stub("refuse_valid"))
    assert verdict == "NOT VERIFIED"
    assert "its positive control did not succeed" in records["not measured"].reason
