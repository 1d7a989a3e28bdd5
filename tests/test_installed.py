"""An installed ivv works outside its checkout: the wheel built from this tree, installed into a fresh
venv, run from a folder that is not the checkout, gates a running service endpoint-only with the
shipped suites, gates and templates (package data), and renders the report again from the bundle.

Also `ivv init`: the scaffold it writes loads (profile, gate) and its own gate drives the same run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from security_support import CONTRACT, dev_stack

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the wheel of this checkout installed (not editable); its bin folder."""
    work = tmp_path_factory.mktemp("installed")
    wheels = work / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels),
                    str(ROOT)], check=True, capture_output=True, text=True, timeout=600, cwd=work)
    wheel = next(wheels.glob("ivv-*.whl"))
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    done = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                           str(wheel)], capture_output=True, text=True, timeout=1200, cwd=work)
    assert done.returncode == 0, done.stderr[-3000:]
    return bin_dir


def _run(bin_dir: Path, args: list[str], cwd: Path, env: dict | None = None, timeout: float = 600):
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    clean["PATH"] = f"{bin_dir}{os.pathsep}{clean.get('PATH', '')}"
    return subprocess.run([str(bin_dir / "ivv"), *args], cwd=cwd, env={**clean, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


def test_installed_ivv_gates_a_service_from_outside_the_checkout(installed, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    where = subprocess.run([str(installed / "python"), "-c", "import ivv, ivv.resources as r; "
                            "print(ivv.__file__); print(r.shipped('suites')); print(r.checkout())"],
                           cwd=outside, capture_output=True, text=True, timeout=60, check=True).stdout.split("\n")
    assert str(ROOT) not in where[0] and "site-packages" in where[1] and where[2] == "None", where
    with dev_stack(tmp_path) as stack:
        creds = stack.credentials
        env = {"IVV_JWT_SECRET": creds["CAMERA_SERVICE_JWT_SECRET"],
               **{k: v for k, v in creds.items() if k.startswith("IVV_API_KEY_")}}
        done = _run(installed, ["gate", "--endpoint", stack.endpoint, "--health", stack.health,
                                "--contract", str(CONTRACT), "--suites", "health,security", "--run-id", "outside"],
                    outside, env)
    bundle = outside / "reports" / "outside"
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]  # HOLD: nothing was deployed
    verdicts = json.loads((bundle / "verdicts.json").read_text())
    assert verdicts["criteria"]["security.auth_enforced"]["verdict"] == "PASS", verdicts["criteria"]["security.auth_enforced"]
    assert verdicts["criteria"]["ops.deploy"]["verdict"] == "NOT VERIFIED"
    first = (bundle / "gate-review.md").read_bytes()
    again = _run(installed, ["report", str(bundle)], outside)
    assert again.returncode == 0, again.stdout + again.stderr
    assert (bundle / "gate-review.md").read_bytes() == first
    assert "<html" in (bundle / "gate-review.html").read_text()[:500].lower()


def test_init_scaffold_loads_and_is_refused_twice(installed, tmp_path):
    project = tmp_path / "team-stack"
    done = _run(installed, ["init", str(project)], tmp_path)
    assert done.returncode == 0, done.stderr
    for name in ("ivv/profile.yaml", "ivv/contract.openrpc.json", "ivv/inventory.yaml", "ivv/gate.yaml", "tox.ini"):
        assert (project / name).is_file(), name
    checked = _run(installed, ["profile", "check", "ivv/profile.yaml"], project)
    assert checked.returncode == 0 and "team-stack" in checked.stdout, checked.stdout + checked.stderr
    again = _run(installed, ["init", str(project)], tmp_path)
    assert again.returncode == 2 and "already exist" in again.stderr
