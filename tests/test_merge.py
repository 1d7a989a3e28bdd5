"""`ivv merge` rules on real bundles written by the journal (no device): each source verified first, no
device counted twice, the same gates, records placed on their own device, artifacts carried along, and
a merged bundle that is itself chained, sealed and renders the same bytes again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from history_support import DEMO
from history_support import demo_bundle as bundle

from ivv import cli
from ivv.config.gates import GateSet
from ivv.errors import ConfigError
from ivv.evidence.bundle import Bundle
from ivv.evidence.merge import BundleAltered, merge


def grid(path: Path) -> dict:
    verdicts = json.loads((path / "verdicts.json").read_text())
    return {c: {t: s["verdict"] for t, s in e["targets"].items()} for c, e in verdicts["criteria"].items()}


def test_each_record_stays_on_its_device_and_every_device_decides_every_criterion(tmp_path):
    a = bundle(tmp_path / "runner-1", "run-a", "a", stop_gap=True)
    b = bundle(tmp_path / "runner-2", "run-b", "b")
    merged = merge([b, a], tmp_path / "reports" / "fleet")
    cells = grid(merged)
    # a's targetless gap makes a NOT VERIFIED, never b
    assert cells["demo.latency"] == {"a": "NOT VERIFIED", "b": "PASS"}
    assert cells["demo.file_roundtrip"] == {"a": "PASS", "b": "PASS"}
    # nothing recorded for demo.skipped on either device: NOT VERIFIED, no test measured it
    verdicts = json.loads((merged / "verdicts.json").read_text())
    assert verdicts["criteria"]["demo.skipped"]["verdict"] == "NOT VERIFIED"
    records = [json.loads(line) for line in (merged / "evidence.jsonl").read_text().splitlines()]
    assert [r["origin"]["run"] for r in records] == ["run-a"] * 3 + ["run-b"] * 2   # sources sorted by device
    assert all(r["target"] in ("a", "b") for r in records)
    art = next(r for r in records if r["artifacts"])["artifacts"][0]
    assert art["path"].startswith("sources/run-a/artifacts/") and (merged / art["path"]).is_file()


def test_a_fleet_device_without_records_of_a_criterion_is_not_verified_there(tmp_path):
    a = bundle(tmp_path / "r1", "run-a", "a")
    b = Bundle.create(tmp_path / "r2", "run-b", gates=GateSet.load([DEMO / "demo-gate.yaml"]))
    b.recorder(test="t", target_name="b").check("demo.file_roundtrip", "round trip", True)
    b.finish()
    merged = merge([a, b.path], tmp_path / "fleet")
    verdicts = json.loads((merged / "verdicts.json").read_text())
    latency = verdicts["criteria"]["demo.latency"]
    assert latency["verdict"] == "NOT VERIFIED" and latency["targets"]["a"]["verdict"] == "PASS"
    assert latency["targets"]["b"]["reason"] == "nothing was recorded for it on b."
    assert verdicts["decision"] == "HOLD"


def test_merged_bundle_is_chained_sealed_and_renders_the_same_bytes(tmp_path, capsys):
    merged = merge([bundle(tmp_path / "r1", "run-a", "a"), bundle(tmp_path / "r2", "run-b", "b")],
                   tmp_path / "reports" / "fleet")
    manifest = json.loads((merged / "manifest.json").read_text())
    assert [s["run_id"] for s in manifest["merged_from"]] == ["run-a", "run-b"]
    assert all(len(s["manifest_sha256"]) == 64 and s["seal"]["records"] for s in manifest["merged_from"])
    assert "sources/run-a/evidence.jsonl" in manifest["seal"]["files"]
    assert manifest["fleet"]["targets"] == ["a", "b"]
    before = {n: (merged / n).read_bytes() for n in ("gate-review.md", "gate-review.html")}
    assert cli.main(["report", str(merged)]) == 0
    assert {n: (merged / n).read_bytes() for n in before} == before
    assert "## Fleet: criterion x device" in before["gate-review.md"].decode()
    artifact = next((merged / "sources" / "run-b" / "artifacts").rglob("samples.txt"))
    artifact.write_text("1.0\n")
    assert cli.main(["report", str(merged)]) == 3
    assert "samples.txt was changed after" in capsys.readouterr().err


def test_an_altered_source_is_not_merged(tmp_path, capsys):
    a, b = bundle(tmp_path / "r1", "run-a", "a"), bundle(tmp_path / "r2", "run-b", "b", latency=80.0)
    evidence = b / "evidence.jsonl"
    evidence.write_text(evidence.read_text().replace('"value": 80.0', '"value": 8.0'))
    with pytest.raises(BundleAltered) as caught:
        merge([a, b], tmp_path / "fleet")
    assert caught.value.bundle == b and "changed after it was written" in caught.value.problems[0]
    assert cli.main(["merge", str(a), str(b), "--reports", str(tmp_path / "out")]) == 3
    err = capsys.readouterr().err
    assert "not merged" in err and f"bundle altered: {b}: evidence.jsonl" in err
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*/evidence.jsonl"))


@pytest.mark.parametrize("case, message", [
    ("same device", "target a is in"),
    ("same run", "is also"),
    ("other gate", "was decided by other gate files"),
])
def test_merge_rules(tmp_path, case, message):
    a = bundle(tmp_path / "r1", "run-a", "a")
    if case == "same device":
        other = bundle(tmp_path / "r2", "run-b", "a")
    elif case == "same run":
        other = bundle(tmp_path / "r2", "run-a", "b")
    else:
        other = bundle(tmp_path / "r2", "run-b", "b", gate="demo-gate-strict.yaml")
    with pytest.raises(ConfigError, match=message):
        merge([a, other], tmp_path / "fleet")


def test_a_failing_device_holds_the_fleet(tmp_path):
    merged = merge([bundle(tmp_path / "r1", "run-a", "a", latency=3.0),
                    bundle(tmp_path / "r2", "run-b", "b", latency=80.0)], tmp_path / "fleet")
    verdicts = json.loads((merged / "verdicts.json").read_text())
    assert grid(merged)["demo.latency"] == {"a": "PASS", "b": "FAIL"}
    assert verdicts["decision"] == "HOLD" and verdicts["criteria"]["demo.latency"]["reason"].startswith("on b:")
