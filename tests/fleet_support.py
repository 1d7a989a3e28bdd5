"""Helpers of the fleet self-tests: a short gate, a short health suite, inventories of local devices,
and running the `ivv` command in a subprocess as a user would."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEMO = Path(__file__).resolve().parent / "demo" / "fleet"
CDR_GATE = ROOT / "deployment" / "gates" / "cdr-deployment.yaml"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gate(tmp_path: Path, extra: dict | None = None, name: str = "fleet-test") -> Path:
    """ops.monitoring of the CDR gate with short health waits (plus `extra` top-level keys)."""
    data = yaml.safe_load(CDR_GATE.read_text())
    data["gate"]["id"] = name
    data["criteria"] = [dict(c, stop_on_fail=False) for c in data["criteria"] if c["id"] == "ops.monitoring"]
    data["settings"] = {"health": {"ready_transition_timeout_s": 8, "latency_samples": 5}}
    data.update(extra or {})
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def suites(tmp_path: Path) -> Path:
    """A suites folder with the short health suite (tests/demo/fleet)."""
    folder = tmp_path / "suites" / "health"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DEMO / "health_conftest.py", folder / "conftest.py")
    shutil.copyfile(DEMO / "truth_suite.py", folder / "test_truth.py")
    return folder.parent


def unreachable(name: str, tmp_path: Path) -> dict:
    """An ssh device on a loopback port nothing answers on."""
    return {"name": name, "kind": "ssh", "host": "127.0.0.1", "port": closed_port(), "user": "ivv",
            "connect_timeout": 2, "host_key_checking": "off", "known_hosts": str(tmp_path / "known_hosts")}


def inventory(tmp_path: Path, entries: list[dict], name: str = "inventory.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"targets": entries}, sort_keys=False))
    return path


def local(name: str, **extra) -> dict:
    return {"name": name, "kind": "local", "environment": "local", **extra}


def environment() -> dict:
    """This process's environment without fault knobs (a device's knobs come from its inventory entry)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CAMERA_SERVICE_")}


def ivv(*args, timeout: float = 600, env: dict | None = None) -> subprocess.Popen:
    """Start `ivv ARGS...` (wait with .communicate())."""
    return subprocess.Popen([sys.executable, "-m", "ivv.cli", *map(str, args)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env or environment())


def run(*args, timeout: float = 600, env: dict | None = None) -> tuple[int, str]:
    proc = ivv(*args, env=env)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out + err


def verdicts(bundle: Path) -> dict:
    return json.loads((bundle / "verdicts.json").read_text())


def grid(bundle: Path) -> dict[str, dict[str, str]]:
    """{criterion: {device: verdict}} of a bundle."""
    return {cid: {t: sub["verdict"] for t, sub in entry["targets"].items()}
            for cid, entry in verdicts(bundle)["criteria"].items()}


def reasons(bundle: Path, criterion: str) -> dict[str, str]:
    return {t: sub["reason"] for t, sub in verdicts(bundle)["criteria"][criterion]["targets"].items()}


def vdevice(name: str, **extra) -> dict:
    """A virtual device of its own (booted by the run that uses it), from the shipped recipe."""
    return {"name": name, "kind": "qemu", "environment": "staging", "recipe": str(ROOT / "deployment" / "vdevice"),
            "memory_mb": 1024, "cpus": 1, "accel": "auto", "boot_timeout": 480, "ttl": 3600, **extra}


def device_suites(tmp_path: Path) -> Path:
    """The short health suite plus the shipped JSON-RPC compliance matrix (a short contract subset)."""
    root = suites(tmp_path)
    contract = root / "contract"
    contract.mkdir(exist_ok=True)
    (contract / "test_compliance_only.py").write_text(
        '"""The shipped JSON-RPC compliance matrix, imported as it is."""\n\n'
        "from ivv.suites.contract.test_compliance import test_jsonrpc_compliance_matrix  # noqa: F401\n")
    return root


def device_gate(tmp_path: Path) -> Path:
    """ops.monitoring (short health waits) and contract.jsonrpc_compliance."""
    shipped = yaml.safe_load((ROOT / "deployment" / "gates" / "production-readiness.yaml").read_text())
    compliance = next(c for c in shipped["criteria"] if c["id"] == "contract.jsonrpc_compliance")
    path = gate(tmp_path, name="fleet-devices")
    data = yaml.safe_load(path.read_text())
    data["criteria"].append(compliance)
    data["settings"]["contract"] = {"notification_silence_s": 1.0}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
