"""Shared by the security and endpoint-only self-tests: the dev stack on free ports, an `ivv gate` run in a
subprocess with a temporary reports folder, and readers for its verdicts and evidence."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEVSTACK = ROOT / "deployment" / "stacks" / "camera-service-dev" / "devstack.py"
DEV_PROFILE = ROOT / "deployment" / "stacks" / "camera-service-dev" / "profile.yaml"
DEV_INVENTORY = ROOT / "deployment" / "stacks" / "camera-service-dev" / "inventory.yaml"
CONTRACT = ROOT / "deployment" / "contracts" / "camera-service.openrpc.json"
SECURITY_CRITERIA = ("security.auth_enforced", "security.session_isolation", "security.no_default_credentials",
                     "security.least_exposure", "security.error_disclosure", "security.request_limits",
                     "security.path_traversal")


def free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


class DevStack:
    """The reference service from its source tree as plain processes (devstack.py), on free ports."""

    def __init__(self, state: Path, faults: dict | None = None):
        self.state = state
        self.rpc_port, self.health_port, self.media_port = free_ports(3)
        self.faults = faults or {}

    def start(self) -> DevStack:
        cmd = [sys.executable, str(DEVSTACK), "start", "--state", str(self.state),
               "--rpc-port", str(self.rpc_port), "--health-port", str(self.health_port),
               "--media-port", str(self.media_port)]
        for knob, value in self.faults.items():
            cmd += ["--fault", f"{knob}={value}"]
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60)
        return self

    def stop(self) -> None:
        subprocess.run([sys.executable, str(DEVSTACK), "stop", "--state", str(self.state)], timeout=30,
                       capture_output=True)

    @property
    def credentials(self) -> dict[str, str]:
        lines = (self.state / "credentials.env").read_text().split()
        return dict(line.split("=", 1) for line in lines)

    @property
    def endpoint(self) -> str:
        return f"ws://127.0.0.1:{self.rpc_port}/ws"

    @property
    def health(self) -> str:
        return f"http://127.0.0.1:{self.health_port}"

    def profile(self, folder: Path) -> Path:
        """The dev profile with this run's ports and an absolute contract path."""
        data = yaml.safe_load(DEV_PROFILE.read_text())
        data["rpc"]["port"], data["health"]["port"] = self.rpc_port, self.health_port
        data["media"]["port"] = self.media_port
        data["contract"] = str(CONTRACT)
        path = folder / "profile.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path


@contextlib.contextmanager
def dev_stack(tmp_path: Path, faults: dict | None = None):
    stack = DevStack(tmp_path / "stack", faults)
    try:
        yield stack.start()
    finally:
        stack.stop()


def run_gate(tmp_path: Path, args: list[str], env: dict[str, str], timeout: float = 240) -> tuple[int, Path, str]:
    """`ivv gate ARGS` in a subprocess from the project root; (exit status, bundle folder, output)."""
    reports = tmp_path / "reports"
    cmd = [sys.executable, "-m", "ivv.cli", "gate", "--reports", str(reports), "--run-id", "run", *args]
    done = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=timeout)
    return done.returncode, reports / "run", done.stdout + done.stderr


def security_gate(tmp_path: Path, stack: DevStack, tests: str | None = None) -> tuple[int, Path, str]:
    """The security suite against the dev stack through its endpoint-only profile (optionally `-k tests`)."""
    args = ["--profile", str(stack.profile(tmp_path)), "--inventory", str(DEV_INVENTORY), "--suites", "security"]
    if tests:
        args += ["--", "-k", tests]
    return run_gate(tmp_path, args, stack.credentials)


def verdicts(bundle: Path) -> dict:
    return json.loads((bundle / "verdicts.json").read_text())


def records(bundle: Path) -> list[dict]:
    return [json.loads(line) for line in (bundle / "evidence.jsonl").read_text().splitlines() if line.strip()]


def failing(bundle: Path, criterion: str) -> list[dict]:
    return [r for r in records(bundle) if r["criterion"] == criterion and r["verdict"] == "FAIL"]


def artifact_text(bundle: Path, record: dict) -> str:
    return "\n".join((bundle / a["path"]).read_text() for a in record.get("artifacts", []))


def leaked_secrets(bundle: Path, secrets: dict[str, str]) -> list[str]:
    """Names of the secrets whose value appears in any file of the bundle."""
    found = []
    for path in bundle.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [name for name, value in secrets.items() if value.encode() in data and name not in found]
    return found


def caught(tmp_path: Path, knob: str, value, criterion: str, tests: str) -> tuple[dict, list[dict], Path]:
    """Run the probes deciding `criterion` against the dev stack with one fault knob set.

    Returns (the criterion's verdict entry, its FAIL records with artifact text added, bundle); asserts
    the bundle holds no secret of the stack.
    """
    with dev_stack(tmp_path, {knob: value}) as stack:
        status, bundle, output = security_gate(tmp_path, stack, tests)
        secrets = stack.credentials
    assert (bundle / "verdicts.json").exists(), output
    assert leaked_secrets(bundle, secrets) == []
    fails = [dict(r, exchange=artifact_text(bundle, r)) for r in failing(bundle, criterion)]
    assert status == 1, output[-2000:]  # HOLD
    return verdicts(bundle)["criteria"][criterion], fails, bundle
