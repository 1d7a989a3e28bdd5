"""The secret registry masks values in every escaped form a writer may produce."""

import html
import json

import pytest

from ivv import redact


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
