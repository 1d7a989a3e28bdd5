"""`ivv profile init` against the running dev stack: a commented, loadable, endpoint-only profile."""

import json
import subprocess
import sys

import pytest
from security_support import CONTRACT, DEV_INVENTORY, ROOT, dev_stack, run_gate, verdicts

from ivv.config import profile as profile_lib


def init(args, env=None):
    return subprocess.run([sys.executable, "-m", "ivv.cli", "profile", "init", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.slow
def test_init_writes_a_profile_the_gate_can_use(tmp_path):
    out = tmp_path / "profile.yaml"
    with dev_stack(tmp_path) as stack:
        creds = stack.credentials
        done = init(["--endpoint", stack.endpoint, "--health", stack.health, "--contract", str(CONTRACT),
                     "--token", creds["IVV_API_KEY_ADMIN"], "--output", str(out)])
        assert done.returncode == 0, done.stderr
        text = out.read_text()
        profile = profile_lib.load(out)
        # the written profile drives a real gate run (the security suite's token probes)
        status, bundle, output = run_gate(tmp_path, [
            "--profile", str(out), "--inventory", str(DEV_INVENTORY), "--suites", "security",
            "--", "-k", "hostile_tokens"], {"IVV_JWT_SECRET": creds["CAMERA_SERVICE_JWT_SECRET"],
                                            **{k: v for k, v in creds.items() if k.startswith("IVV_API_KEY_")}})
    assert creds["IVV_API_KEY_ADMIN"] not in text and creds["CAMERA_SERVICE_JWT_SECRET"] not in text
    assert profile.endpoint_only and profile.rpc["port"] == stack.rpc_port
    assert profile.health["port"] == stack.health_port and "ready" in profile.health["endpoints"]
    assert profile.auth["methods"] == ["api_key"] and "logged in as role admin" in text
    assert "#   ping (viewer): anonymous: -32001, token: result" in text
    assert "take_snapshot (operator): anonymous: -32001, token: not called" in text
    assert "# bind:" in text and "# rate_limit:" in text  # left for the user: never guessed
    records = [json.loads(line) for line in (bundle / "evidence.jsonl").read_text().splitlines()]
    hostile = [r for r in records if r["criterion"] == "security.auth_enforced" and r["kind"] == "check"]
    assert hostile and all(r["verdict"] == "PASS" for r in hostile), output[-2000:]
    # -k ran one of the criterion's tests: the others were deselected, so it is not decided on that subset
    assert verdicts(bundle)["criteria"]["security.auth_enforced"]["verdict"] == "NOT VERIFIED", output[-2000:]


@pytest.mark.slow
def test_init_without_token_says_login_was_not_observed(tmp_path):
    with dev_stack(tmp_path) as stack:
        done = init(["--endpoint", stack.endpoint, "--health", stack.health, "--contract", str(CONTRACT)])
    assert done.returncode == 0, done.stderr
    assert "not observed (no --token" in done.stdout
    assert "contract methods answering with a result: none" in done.stdout


def test_init_names_an_endpoint_that_does_not_answer(tmp_path):
    done = init(["--endpoint", "ws://127.0.0.1:9/ws", "--health", "http://127.0.0.1:9",
                 "--contract", str(CONTRACT), "--timeout", "1"])
    assert done.returncode == 2
    assert "ivv: error: --endpoint ws://127.0.0.1:9/ws: cannot open" in done.stderr, done.stderr
