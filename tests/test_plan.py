"""`ivv plan` and the rules the run keeps to it: a device marked not destructive never runs a destructive
suite, a device that fails its pre-run health check (disk, clock, reachable) is left out with its criteria
NOT VERIFIED and the reason, while the device beside it PASSes (the positive control)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import fleet_support as fs
import pytest
import yaml

from ivv import cli

ROOT = Path(__file__).resolve().parent.parent


def _gate(tmp_path: Path, settings: dict | None = None) -> Path:
    gate = {"gate": {"id": "plan-test", "title": "Plan test"}, "settings": settings or {},
            "criteria": [{"id": "demo.installs", "title": "Installs", "requirement": "It installs.",
                          "mandatory": True, "suite": "deployment"},
                         {"id": "demo.answers", "title": "Answers", "requirement": "It answers a command.",
                          "mandatory": True, "suite": "demo"}]}
    path = tmp_path / "gate.yaml"
    path.write_text(yaml.safe_dump(gate))
    return path


def _suite(tmp_path: Path) -> Path:
    """Two suites per device: a destructive one (deployment) and a harmless one."""
    root = tmp_path / "suites"
    for suite, body in (("deployment", """
        @pytest.mark.criterion("demo.installs")
        def test_installs(target, evidence):
            evidence.check("demo.installs", "a (pretend) install step ran", target.run("true").succeeded)
    """), ("demo", """
        @pytest.mark.criterion("demo.answers")
        def test_answers(target, evidence):
            result = target.run("echo hello")
            evidence.check("demo.answers", "the device answers", result.stdout.strip() == "hello")
    """)):
        (root / suite).mkdir(parents=True, exist_ok=True)
        (root / suite / f"test_{suite}_device.py").write_text("import pytest\n" + textwrap.dedent(body))
    return root


def _pytest(tmp_path, gate, inventory, *extra, env=None, run_id="run"):
    suites = _suite(tmp_path)
    cmd = [sys.executable, "-m", "pytest", str(suites / "deployment"), str(suites / "demo"), "-q", "-p", "no:cacheprovider",
           "--ivv-gate", str(gate), "--ivv-inventory", str(inventory), "--ivv-reports", str(tmp_path / "reports"),
           "--ivv-run-id", run_id, *extra]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env or fs.environment())
    return tmp_path / "reports" / run_id, done.stdout + done.stderr


def test_plan_says_what_each_device_can_decide(tmp_path, capsys):
    inventory = fs.inventory(tmp_path, [fs.local("alpha"), fs.local("shelf", destructive=False),
                                        fs.unreachable("gone", tmp_path),
                                        fs.local("gen1", role="loadgen", loadgen={"workers": 2})])
    assert cli.main(["plan", "--inventory", str(inventory), "--gate", "cdr-deployment", "--json"]) == 0
    plans = {p["target"]: p for p in json.loads(capsys.readouterr().out)}
    assert set(plans) == {"alpha", "shelf", "gone"}     # a load generator is no device under test
    assert "not destructive" in plans["shelf"]["not_verified"]["ops.rollback_time"]
    assert plans["alpha"]["not_verified"]["ops.monitoring"] == "the camera cannot be taken away there"
    assert plans["gone"]["preflight"]["ok"] is False and not plans["gone"]["decides"]
    assert all(why.startswith("left out: gone failed its pre-run health check: reachable")
               for why in plans["gone"]["not_verified"].values())
    assert cli.main(["plan", "--inventory", str(inventory), "--gate", "cdr-deployment", "--check"]) == 1
    out = capsys.readouterr().out
    assert "shelf (local;" in out and "NOT VERIFIED ops.deploy, ops.env_config" in out
    assert cli.main(["plan", "--inventory", str(inventory), "--target", "gen1"]) == 2
    assert "has role loadgen" in capsys.readouterr().err


def test_a_device_marked_not_destructive_never_runs_a_destructive_suite(tmp_path):
    inventory = fs.inventory(tmp_path, [fs.local("alpha"), fs.local("shelf", destructive=False)])
    bundle, out = _pytest(tmp_path, _gate(tmp_path), inventory)
    cells = fs.grid(bundle)
    assert cells["demo.installs"] == {"alpha": "PASS", "shelf": "NOT VERIFIED"}, out[-2000:]
    assert cells["demo.answers"] == {"alpha": "PASS", "shelf": "PASS"}
    assert "inventory marks shelf not destructive" in fs.reasons(bundle, "demo.installs")["shelf"]


@pytest.mark.parametrize("fault", ["disk", "clock"])
def test_a_device_failing_its_health_check_is_left_out(tmp_path, fault):
    env = fs.environment()
    settings = {}
    if fault == "disk":
        settings = {"fleet": {"preflight": {"min_free_mb": 10 ** 9}}}   # more than any disk here
    else:  # this machine's `date` two minutes ahead, for the device's clock only (the harness reads Python's)
        fake = tmp_path / "bin"
        fake.mkdir()
        (fake / "date").write_text('#!/bin/sh\nexec /bin/date -d "@$(( $(/bin/date +%s) + 120 ))" "$@"\n')
        (fake / "date").chmod(0o755)
        env["PATH"] = f"{fake}:{env['PATH']}"
    inventory = fs.inventory(tmp_path, [fs.local("alpha")])
    bundle, out = _pytest(tmp_path, _gate(tmp_path, settings), inventory, "--ivv-preflight", env=env)
    assert fs.grid(bundle)["demo.answers"] == {"alpha": "NOT VERIFIED"}, out[-2000:]
    reason = fs.reasons(bundle, "demo.answers")["alpha"]
    assert f"left out: alpha failed its pre-run health check: {fault}:" in reason, reason
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["preflight"]["alpha"]["ok"] is False
    # the positive control: the same device and suite with the default limits and the true clock PASS
    bundle, out = _pytest(tmp_path, _gate(tmp_path), inventory, "--ivv-preflight", run_id="control")
    assert fs.grid(bundle)["demo.answers"] == {"alpha": "PASS"}, out[-2000:]
