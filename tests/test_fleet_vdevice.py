"""Two virtual devices in one `ivv gate`, each in its own run at once: the session's device (attached, so
make test boots only one more) and a second one booted by the run, with its health endpoints lying
(inventory `faults: {health_lies: 1}`), plus a third device that cannot be reached. The lying one FAILs
ops.monitoring where the honest one PASSes, the unreachable one is NOT VERIFIED and holds no one, all in
one report with the criterion x device grid."""

from __future__ import annotations

import json
import time

import fleet_support as fs
import pytest

pytestmark = [pytest.mark.vdevice, pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def fleet(vdevice, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("vfleet")
    session = {"name": "vdev-a", "kind": "qemu", "environment": vdevice.environment,
               "attach": str(vdevice.machine.run_dir), "tls": dict(vdevice.tls)}
    inventory = fs.inventory(tmp, [session, fs.vdevice("vdev-b", faults={"health_lies": 1}),
                                   fs.unreachable("gone", tmp)])
    started = time.monotonic()
    code, out = fs.run("gate", "--gate", fs.device_gate(tmp), "--inventory", inventory,
                       "--suites-dir", fs.device_suites(tmp), "--reports", tmp / "reports", "--run-id", "fleet",
                       timeout=1100)
    return {"code": code, "out": out, "bundle": tmp / "reports" / "fleet", "seconds": time.monotonic() - started}


def test_lying_device_fails_where_the_honest_one_passes(fleet):
    bundle = fleet["bundle"]
    cells = fs.grid(bundle)
    assert cells["ops.monitoring"] == {"vdev-a": "PASS", "vdev-b": "FAIL", "gone": "NOT VERIFIED"}, fleet["out"][-4000:]
    assert cells["contract.jsonrpc_compliance"] == {"vdev-a": "PASS", "vdev-b": "PASS", "gone": "NOT VERIFIED"}
    assert fleet["code"] == 1 and fs.verdicts(bundle)["decision"] == "HOLD"
    review = (bundle / "gate-review.md").read_text()
    assert "## Fleet: criterion x device" in review and "### Device vdev-b" in review


def test_both_devices_booted_at_once_and_the_unreachable_one_held_no_one(fleet):
    manifest = json.loads((fleet["bundle"] / "manifest.json").read_text())
    assert "left out: gone failed its pre-run health check: reachable" in \
        fs.reasons(fleet["bundle"], "ops.monitoring")["gone"]
    spans = {s["targets"][0]: (s["started"], s["ended"]) for s in manifest["merged_from"]}
    assert spans["vdev-a"][0] < spans["vdev-b"][1] and spans["vdev-b"][0] < spans["vdev-a"][1], spans  # overlap
    assert spans["gone"][1] < min(spans["vdev-a"][1], spans["vdev-b"][1]), spans
    facts = manifest["targets"]
    assert facts["vdev-a"]["boot_id"] != facts["vdev-b"]["boot_id"]          # two machines, not one
    print(f"fleet of two virtual devices + one unreachable: {fleet['seconds']:.0f} s wall, "
          f"per device {manifest['fleet']['devices_s']}")
