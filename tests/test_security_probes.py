"""Pure logic of the security probes: leak detection, bind comparison, `ss` parsing, hostile tokens,
traversal spellings and transcript redaction. (The probes against a real service are in
test_security_suite.py and test_fault_security_*.py.)"""

import base64
import json
import random

import pytest

from ivv.rpc.auth import claims, sign
from ivv.security import authn, exposure, leaks, tokens, traversal
from ivv.security.exposure import Listener
from ivv.security.wire import Transcript


@pytest.mark.parametrize("error, found", [
    ({"code": -32603, "message": "Internal error"}, []),
    ({"code": -32603, "message": "Internal error",
      "data": {"trace": 'Traceback (most recent call last):\n  File "/opt/app/x.py", line 3, in f'}},
     ["stack trace", "source location", "filesystem path"]),
    ({"message": "KeyError: 'device'"}, ["exception class"]),
    ({"message": "cannot open /var/lib/camera/db.sqlite"}, ["filesystem path"]),
    ({"message": "<object at 0x7f3a2b1c9d00>"}, ["memory address"]),
    ({"message": "snapshot not found: ../../etc/passwd"}, []),  # the client's own input echoed back
])
def test_leak_patterns(error, found):
    assert leaks.leaks_in(leaks.strings_of(error), []) == found


def test_a_secret_in_an_error_is_a_leak():
    assert leaks.leaks_in('{"message": "bad signature for key s3cr3t-value"}', ["s3cr3t-value"]) == \
        ["secret value"]


@pytest.mark.parametrize("observed, configured, ok", [
    ("127.0.0.1", "127.0.0.1", True), ("0.0.0.0", "127.0.0.1", False), ("::", "127.0.0.1", False),
    ("::1", "localhost", True), ("::ffff:127.0.0.1", "127.0.0.1", True), ("10.0.0.5", "0.0.0.0", True),
    ("10.0.0.5", "10.0.0.5", True), ("0.0.0.0", "10.0.0.5", False), ("10.0.0.6", "10.0.0.5", False),
])
def test_bind_comparison(observed, configured, ok):
    assert exposure.within(observed, configured) is ok


def test_judge_flags_wide_and_unconfigured_ports():
    passed, problems, lines = exposure.judge(
        [Listener("0.0.0.0", 8002, 10, "python3"), Listener("127.0.0.1", 8003, 10, "python3"),
         Listener("0.0.0.0", 9999, 11, "debug"), Listener("127.0.0.1", 7000, 11, "debug")],
        {8002: "127.0.0.1", 8003: "127.0.0.1", 8080: "127.0.0.1"})
    assert not passed
    assert problems == ["port 8002 configured for 127.0.0.1 listens on 0.0.0.0",
                        "port 9999 is not configured but listens on 0.0.0.0"]
    assert any("port 8080: configured, not seen" in line for line in lines)


def test_parse_ss_and_ps():
    text = ('LISTEN 0 100 127.0.0.1:8002 0.0.0.0:* users:(("python3",pid=812,fd=7))\n'
            'LISTEN 0 128 [::]:22 [::]:* users:(("sshd",pid=401,fd=4))\n'
            'LISTEN 0 5 0.0.0.0:8080 0.0.0.0:* users:(("ustreamer",pid=900,fd=3),("ustreamer",pid=901,fd=3))\n')
    found = exposure.parse_ss(text)
    assert [(s.address, s.port, s.pid) for s in found] == [
        ("127.0.0.1", 8002, 812), ("::", 22, 401), ("0.0.0.0", 8080, 900), ("0.0.0.0", 8080, 901)]
    tree, users = exposure.parse_ps("  812     1 camera-service\n  813   812 camera-service\n")
    assert tree == {812: 1, 813: 812} and users[813] == "camera-service"


def test_exposure_needs_a_configuration():
    result = exposure.exposure_probe([Listener("0.0.0.0", 1, 1)], {}, "psutil")
    assert not hasattr(result, "passed") and "no bind address" in result.reason


def _claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_hostile_tokens():
    body = claims("admin", tokens.PROBE_USER, exp_in=-60, now=1_000_000)
    assert body["exp"] == 1_000_000 - 60 and body["role"] == "admin" and body["user_id"] == tokens.PROBE_USER
    unsigned = sign(body, "", "none")
    assert unsigned.endswith(".") and json.loads(base64.urlsafe_b64decode(unsigned.split(".")[0] + "=="))["alg"] == "none"
    empty = sign(body, "")  # PyJWT refuses an empty key; an attacker's tool does not
    assert empty.count(".") == 2 and empty.split(".")[2]
    tampered = tokens.tamper_claims(sign(claims("viewer", "u"), "k" * 32), role="admin")
    assert _claims(tampered)["role"] == "admin"
    assert "" in tokens.PLACEHOLDER_SECRETS and "changeme" in tokens.PLACEHOLDER_SECRETS
    described = tokens.describe(tampered, "edited")
    assert '"role": "admin"' in described and tampered.split(".")[2] not in described


def test_lookalike_key_keeps_format_not_value():
    key = "csk_Ab3-xY9_" + "q" * 20
    fake = authn.lookalike(key, random.Random(1))
    assert fake != key and len(fake) == len(key) and fake[:4] == "csk_" and fake[7] == "-"


def test_traversal_spellings():
    spellings = traversal.variants(depth=3)
    assert spellings["plain ../"] == "../../../etc/passwd"
    assert spellings["encoded slash ..%2f"] == "..%2f..%2f..%2fetc%2fpasswd"
    assert len(set(spellings.values())) == len(spellings) >= 10


def test_transcript_describes_secrets_instead_of_showing_them():
    transcript = Transcript()
    transcript.describe("the-real-token-value", "<valid admin credential>")
    transcript.add("admin", ">", '{"params": {"auth_token": "the-real-token-value"}}')
    text = transcript.render()
    assert "the-real-token-value" not in text and "<valid admin credential>" in text


def test_burst_only_to_loopback(monkeypatch):
    from ivv.security import limits
    from ivv.security.surface import Surface

    monkeypatch.delenv(limits.REMOTE_BURST_ENV, raising=False)
    surface = Surface("ws://192.0.2.10:8002/ws", contract=None, credentials=None)
    result = limits.rate_limit_probe(surface, Transcript(), 200, 400, None)
    assert not hasattr(result, "passed") and "loopback" in result.reason
