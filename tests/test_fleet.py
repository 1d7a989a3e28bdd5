"""A fleet on this machine: three devices in one `ivv gate` (one honest local device, one whose health
endpoints lie, one that cannot be reached), each in its own process at once, merged into one report
with the criterion x device grid; and the same three devices run one by one and merged with `ivv merge`,
which must give the same verdicts and grid."""

from __future__ import annotations

import json
import shutil

import fleet_support as fs
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
DEVICES = ("alpha", "beta", "gone")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fleet")
    inventory = fs.inventory(tmp, [fs.local("alpha"), fs.local("beta", faults={"health_lies": 1}),
                                   fs.unreachable("gone", tmp)])
    common = ["--gate", fs.gate(tmp), "--inventory", inventory, "--suites-dir", fs.suites(tmp),
              "--reports", tmp / "reports"]
    code, out = fs.run("gate", *common, "--run-id", "fleet")
    singles = {d: fs.ivv("gate", *common, "--target", d, "--run-id", f"single-{d}") for d in DEVICES}
    done = {d: p.communicate(timeout=600) for d, p in singles.items()}
    return {"tmp": tmp, "reports": tmp / "reports", "code": code, "out": out,
            "singles": {d: (singles[d].returncode, "".join(done[d])) for d in DEVICES}}


def test_fleet_fails_the_lying_device_where_the_honest_one_passes(runs):
    bundle = runs["reports"] / "fleet"
    assert runs["code"] == 1, runs["out"][-3000:]
    assert fs.grid(bundle)["ops.monitoring"] == {"alpha": "PASS", "beta": "FAIL", "gone": "NOT VERIFIED"}
    verdicts = fs.verdicts(bundle)
    assert verdicts["decision"] == "HOLD" and verdicts["integrity"]["status"] == "verified"
    assert "stays so failed" in fs.reasons(bundle, "ops.monitoring")["beta"]
    review = (bundle / "gate-review.md").read_text()
    assert "## Fleet: criterion x device" in review
    assert "| [`ops.monitoring`](#crit-ops.monitoring) | **PASS**" in review
    for device in DEVICES:
        assert f"### Device {device}" in review
    page = (bundle / "gate-review.html").read_text()
    assert 'id="fleet-grid"' in page and 'id="device-gone"' in page


def test_unreachable_device_is_not_verified_and_holds_no_one(runs):
    bundle = runs["reports"] / "fleet"
    reason = fs.reasons(bundle, "ops.monitoring")["gone"]
    assert "left out: gone failed its pre-run health check: reachable" in reason, reason
    manifest = json.loads((bundle / "manifest.json").read_text())
    ended = {s["targets"][0]: s["ended"] for s in manifest["merged_from"]}
    assert ended["gone"] < ended["alpha"] and ended["gone"] < ended["beta"], ended   # it waited for nothing
    assert manifest["fleet"]["devices"]["gone"]["preflight"]["ok"] is False
    assert manifest["fleet"]["devices"]["alpha"]["preflight"]["ok"] is True
    assert "Pre-run health check: **FAILED: left out of the run**" in (bundle / "gate-review.md").read_text()


def test_merge_of_single_device_bundles_gives_the_fleet_verdicts_and_grid(runs):
    assert {d: c for d, (c, _) in runs["singles"].items()} == {"alpha": 0, "beta": 1, "gone": 1}, runs["singles"]
    reports = runs["reports"]
    code, out = fs.run("merge", *(reports / f"single-{d}" for d in ("gone", "beta", "alpha")),
                       "--reports", reports, "--run-id", "merged")
    assert code == 1, out
    merged, fleet = reports / "merged", reports / "fleet"
    assert fs.grid(merged) == fs.grid(fleet)
    assert fs.verdicts(merged)["decision"] == fs.verdicts(fleet)["decision"]
    assert fs.verdicts(merged)["targets"] == list(DEVICES)
    manifest = json.loads((merged / "manifest.json").read_text())
    assert [s["run_id"] for s in manifest["merged_from"]] == [f"single-{d}" for d in DEVICES]
    assert all(s["integrity"] == "verified" and s["seal"]["head"] for s in manifest["merged_from"])


def test_merged_bundle_renders_the_same_bytes_and_is_tamper_evident(runs, tmp_path):
    bundle = runs["reports"] / "fleet"
    first = {n: (bundle / n).read_bytes() for n in ("gate-review.md", "gate-review.html", "verdicts.json")}
    code, out = fs.run("report", bundle)
    assert code == 0, out
    assert {n: (bundle / n).read_bytes() for n in first} == first
    copy = tmp_path / "fleet-copy"
    shutil.copytree(bundle, copy, symlinks=True)
    source_evidence = copy / "sources" / "fleet.beta" / "evidence.jsonl"
    source_evidence.write_text(source_evidence.read_text().replace('"verdict": "FAIL"', '"verdict": "PASS"', 1))
    code, out = fs.run("report", copy)
    assert code == 3 and "bundle altered: sources/fleet.beta/evidence.jsonl was changed after the run" in out, out


def test_merge_refuses_an_altered_source_and_a_device_counted_twice(runs, tmp_path):
    reports = runs["reports"]
    altered = tmp_path / "single-alpha"
    shutil.copytree(reports / "single-alpha", altered, symlinks=True)
    evidence = altered / "evidence.jsonl"
    evidence.write_text(evidence.read_text().replace('"verdict": "PASS"', '"verdict": "FAIL"', 1))
    code, out = fs.run("merge", altered, reports / "single-beta", "--reports", tmp_path / "out")
    assert code == 3 and "bundle altered:" in out and "not merged" in out, out
    code, out = fs.run("merge", reports / "single-alpha", reports / "fleet" / "sources" / "fleet.alpha",
                       "--reports", tmp_path / "out")
    assert code == 2 and "target alpha is in" in out and "counted once" in out, out
