"""The secret registry masks values in every escaped form a writer may produce."""

import html
import json

import pytest

from ivv.evidence import redact


@pytest.fixture(autouse=True)
def _clean_registry():
    redact.clear()
    yield
    redact.clear()


def test_registered_value_is_masked_in_plain_json_and_html_forms():
    secret = 'tok"en<&>-1234'
    redact.register(secret)
    for form in (secret, json.dumps(secret)[1:-1], html.escape(secret), html.escape(json.dumps(secret)[1:-1])):
        assert secret not in redact.redact(f"before {form} after")
        assert redact.MASK in redact.redact(f"before {form} after")


def test_short_values_are_ignored_and_text_without_secrets_is_unchanged():
    redact.register("ab")
    assert redact.redact("ab cd ab") == "ab cd ab"


def test_env_variables_and_objects():
    redact.register_from_env({"IVV_SECRET_API_KEY": "k-9f8e7d6c", "HOME": "/root"})
    cleaned = redact.redact_obj({"key": ["x k-9f8e7d6c y"], "k-9f8e7d6c": 1})
    assert "k-9f8e7d6c" not in json.dumps(cleaned)
    assert "/root" not in redact.secrets()


def test_pem_private_keys_are_masked_without_registration():
    pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"
    assert "b3BlbnNzaC1rZXktdjEAAAAA" not in redact.redact(f"key:\n{pem}\n")


def test_bytes_and_files(tmp_path):
    redact.register("s3cr3t-value")
    assert b"s3cr3t-value" not in redact.redact_bytes(b"\xff\x00s3cr3t-value\x01")
    path = tmp_path / "log.txt"
    path.write_text("login s3cr3t-value ok")
    assert redact.redact_file(path) is True
    assert "s3cr3t-value" not in path.read_text()
    assert redact.redact_file(path) is False


def test_secret_planted_in_a_test_appears_nowhere_in_the_bundle(tmp_path):
    """End to end: evidence, artifacts, assertion message, stdout, junit.xml, pytest-html, reports, manifest."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    suite = tmp_path / "suite"
    suite.mkdir()
    shutil.copyfile(root / "tests" / "demo" / "demo_suite.py", suite / "demo_suite.py")
    planted, passed_in = "tok-PLANTED-6c1f0e9a2b", "cli-secret-77d1e2"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "demo_suite.py",
         "--ivv-gate", str(root / "tests" / "demo" / "demo-gate.yaml"),
         "--ivv-gate", str(root / "tests" / "demo" / "redaction-gate.yaml"), "--ivv-reports", str(tmp_path / "reports"),
         "--ivv-run-id", "secret", "--ivv-secret", passed_in],
        cwd=suite, capture_output=True, text=True, timeout=120,
        env={**os.environ, "IVV_DEMO_SECRET": planted, "IVV_SECRET_EXTRA": "env-secret-5a5a5a"})
    assert result.returncode == 1, result.stdout  # test_secret_everywhere fails on purpose
    assert planted not in result.stdout and redact.MASK in result.stdout  # the terminal log is masked too
    bundle = tmp_path / "reports" / "secret"
    files = [p for p in bundle.rglob("*") if p.is_file()]
    names = {p.relative_to(bundle).as_posix() for p in files}
    assert {"junit.xml", "pytest-report.html", "evidence.jsonl", "gate-review.md", "gate-review.html",
            "manifest.json", "verdicts.json"} <= names
    for path in files:
        data = path.read_bytes()
        for secret in (planted, passed_in, "env-secret-5a5a5a"):
            assert secret.encode() not in data, f"{secret} leaked into {path.relative_to(bundle)}"
    assert redact.MASK in (bundle / "junit.xml").read_text()  # the failure message was there, masked
    assert redact.MASK in (bundle / "evidence.jsonl").read_text()
