"""fleet.converged on a fleet of stand-in stacks deployed by their own scripts on this machine (one
runner job per device, merged as a CI matrix's merge job would): two devices on release 1.1.0 PASS; a
device left on 1.0.0 makes the merged fleet FAIL although each device alone reports the release its own
run deployed. Each device's run alone leaves the criterion NOT VERIFIED: it holds one device's half."""

from __future__ import annotations

import subprocess

import fleet_support as fs
import pytest
import yaml
from test_stub_ops import archives, stub  # noqa: F401 - the stand-in's releases (module fixture)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _device(tmp_path, archives, name: str, version: str):  # noqa: F811
    folder = tmp_path / name
    folder.mkdir()
    profile = stub(folder, archives)
    data = yaml.safe_load(profile.read_text())
    data["deployment"]["current"] = version
    profile.write_text(yaml.safe_dump(data, sort_keys=False))
    inventory = fs.inventory(folder, [fs.local(name, environment="production")])
    code, out = fs.run("gate", "--gate", "fleet", "--profile", profile, "--inventory", inventory,
                       "--suites", "fleet", "--reports", tmp_path / "reports", "--run-id", name)
    subprocess.run(["sh", str(folder / "opt" / "current" / "scripts" / "ctl.sh"), str(folder / "opt"), "0",
                    "stop", "all"], timeout=30)
    return tmp_path / "reports" / name, code, out


def test_fleet_converged_fails_when_one_device_runs_another_release(tmp_path, archives):  # noqa: F811
    one, code1, out1 = _device(tmp_path, archives, "one", "1.1.0")
    two, code2, _ = _device(tmp_path, archives, "two", "1.1.0")
    old, code3, _ = _device(tmp_path, archives, "old", "1.0.0")
    assert (code1, code2, code3) == (1, 1, 1), out1[-3000:]   # one device's run cannot show a fleet converged
    alone = fs.verdicts(one)["criteria"]["fleet.converged"]
    assert alone["verdict"] == "NOT VERIFIED" and "one device's half" in alone["reason"], alone
    assert "reports the release the run deployed (1.1.0)" in alone["reason"]   # its own half did pass
    reports = tmp_path / "reports"
    code, out = fs.run("merge", one, two, "--reports", reports, "--run-id", "same")
    assert code == 0 and fs.grid(reports / "same")["fleet.converged"] == {"one": "PASS", "two": "PASS"}, out
    code, out = fs.run("merge", one, old, "--reports", reports, "--run-id", "mixed")
    assert code == 1, out
    entry = fs.verdicts(reports / "mixed")["criteria"]["fleet.converged"]
    assert entry["verdict"] == "FAIL" and "every device of the fleet reports the same version" in entry["reason"]
    merged = (reports / "mixed" / "gate-review.md").read_text()
    assert "Version per device" in merged and "| old | 1.0.0 |" in merged
