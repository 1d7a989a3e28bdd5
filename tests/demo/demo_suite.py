"""A demonstration suite that needs no device: real (local) measurements recorded as evidence.

Environment knobs used by the self-tests: IVV_DEMO_SECRET (a value registered as secret and planted
in evidence, artifacts, output and an assertion message), IVV_DEMO_SLEEP (seconds to sleep after
recording, so a run can be killed mid-way). To force a FAIL, run it with demo-gate-strict.yaml: its
threshold is the only one (a threshold in a test is a configuration error).
"""

import hashlib
import os
import time

import pytest

from ivv.evidence import redact


@pytest.mark.criterion("demo.latency")
def test_latency(evidence, ivv_gates):
    samples = []
    for _ in range(ivv_gates.setting("demo.samples", 12)):
        start = time.perf_counter()
        time.sleep(0.001)
        samples.append((time.perf_counter() - start) * 1000)
    evidence.measure("demo.latency", "worst of sleep(1 ms) samples", max(samples), unit="ms",
                     details={"table": {"columns": ["sample", "ms"],
                                        "rows": [[i + 1, round(v, 3)] for i, v in enumerate(samples)]}},
                     series={"unit": "ms", "values": samples, "label": "sleep(1 ms)"})


@pytest.mark.criterion("demo.file_roundtrip")
def test_file_roundtrip(evidence, tmp_path):
    payload = os.urandom(4096)
    path = tmp_path / "blob.bin"
    path.write_bytes(payload)
    before, after = hashlib.sha256(payload).hexdigest(), hashlib.sha256(path.read_bytes()).hexdigest()
    art = evidence.artifact("roundtrip.txt", f"written {before}\nread    {after}\n")
    evidence.check("demo.file_roundtrip", "sha256 unchanged after write/read", before == after,
                   expected=before, observed=after, artifacts=[art])
    sleep = float(os.environ.get("IVV_DEMO_SLEEP", "0"))
    if sleep:
        time.sleep(sleep)


@pytest.mark.criterion("demo.skipped")
def test_skipped(evidence):
    pytest.skip("demonstrates a skipped criterion")


@pytest.mark.skipif(not os.environ.get("IVV_DEMO_SECRET"), reason="IVV_DEMO_SECRET not set")
@pytest.mark.criterion("demo.redaction")
def test_secret_everywhere(evidence):
    secret = os.environ["IVV_DEMO_SECRET"]
    redact.register(secret)
    print(f"token in stdout: {secret}")
    art = evidence.artifact("login.log", f"Authorization: Bearer {secret}\n")
    evidence.check("demo.redaction", f"login with {secret}", True, expected=secret, observed={"token": secret},
                   artifacts=[art])
    assert secret == "something else", f"token {secret} rejected"
