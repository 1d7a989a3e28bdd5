"""Reports render from the bundle alone, byte-identically, with every section the gate review needs."""

import json
import re
from datetime import date
from pathlib import Path

import pytest

from ivv.config.gates import GateSet, load_gate
from ivv.evidence.bundle import Bundle
from ivv.report.render import render_bundle

DEMO = Path(__file__).resolve().parent / "demo"


@pytest.fixture
def bundle_dir(tmp_path):
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "waivers:\n"
        "  - {criterion: demo.skipped, reason: skipped until the lab has power control, owner: lab-team, expires: 2099-01-01}\n"
        "  - {criterion: demo.untested, reason: nobody measures this yet, owner: qa-team, expires: 2000-01-01}\n")
    gates = GateSet([load_gate(DEMO / "demo-gate.yaml")])
    bundle = Bundle.create(tmp_path / "reports", "run-r", gates=gates, waiver_files=[waivers])
    bundle.update_manifest("targets", {"vdev": {"model": "QEMU virtual device", "cores": 2}})
    bundle.set_manifest("stack", {"name": "camera-service", "version": "9.8.7"})
    bundle.set_manifest("phases", [{"name": "boot", "seconds": 16.2, "start": "s", "end": "e"}])
    bundle.update_manifest("targets", {"vdev": {"model": "QEMU virtual device", "cores": 2, "tags": ["x", "y"]}})
    rec = bundle.recorder(test="suites/demo/test_x.py::test_a", suite="demo", target_name="vdev")
    art = rec.artifact("latencies.csv", "ms\n1.2\n3.4\n")
    rec.measure("demo.latency", "p95 latency", 3.4, unit="ms", artifacts=[art],
                details={"table": {"title": "Latency table", "columns": ["method", "p95 ms"],
                                   "rows": [["ping", 3.4], ["get|status", 2.0]]}, "note": "open model"},
                series={"unit": "ms", "values": [1.2, 3.4, 2.2, 2.9]})
    rec.check("demo.file_roundtrip", "sha256 unchanged", False, expected="abc", observed="abd")
    rec.gap("demo.skipped", "test skipped: no power control")
    bundle.finish()
    return bundle.path


def test_render_writes_verdicts_and_both_reports(bundle_dir):
    verdicts, paths = render_bundle(bundle_dir)
    assert verdicts["decision"] == "HOLD"
    assert json.loads((bundle_dir / "verdicts.json").read_text()) == verdicts
    markdown = paths["markdown"].read_text()
    page = paths["html"].read_text()
    for text in ("Decision: HOLD.", "demo.file_roundtrip", "## Criteria", "## Criterion by criterion",
                 "**Why it is NOT VERIFIED:** no test measured it", "## Waivers",
                 "## Device facts", "QEMU virtual device", '| tags | ["x", "y"] |', "## Phase timings",
                 "| boot | 16.2 |", "## Provenance", "9.8.7", "evidence.jsonl sha256",
                 "Latency table", "get\\|status", "(#ev-1)", "artifacts/", "plots/record-00001.svg",
                 "latencies.csv](artifacts/", "(11 B)",
                 "WAIVED** (underlying NOT VERIFIED) by lab-team", "Expired waiver for `demo.untested`",
                 "| applied (NOT VERIFIED waived) |", "| expired: covers nothing |"):
        assert text in markdown, text
    for cid in ("demo.latency", "demo.file_roundtrip", "demo.skipped", "demo.untested"):
        assert f'<a id="crit-{cid}"></a>' in markdown and f'id="crit-{cid}"' in page, cid
    assert verdicts["criteria"]["demo.untested"]["verdict"] == "NOT VERIFIED"
    assert "the waiver expired on 2000-01-01" in verdicts["criteria"]["demo.untested"]["reason"]
    assert '<table id="criteria-table" class="grid">' in page and "<svg" in page and 'id="ev-1"' in page
    assert "<script src" not in page and "<link" not in page and "<metadata>" not in page
    assert page.count("<script") == 1  # the small inline filter, nothing loaded
    assert not re.search(r"""(src|href)=["']?(https?:)?//|url\(\s*['"]?https?:""", page)
    assert "Latency table" in page and "get|status" in page


def test_rerendering_is_byte_identical(bundle_dir):
    render_bundle(bundle_dir)
    first = {name: (bundle_dir / name).read_bytes() for name in ("gate-review.md", "gate-review.html", "verdicts.json")}
    svg = (bundle_dir / "plots" / "record-00001.svg").read_bytes()
    render_bundle(bundle_dir)
    assert {name: (bundle_dir / name).read_bytes() for name in first} == first
    assert (bundle_dir / "plots" / "record-00001.svg").read_bytes() == svg


def test_verdicts_are_judged_as_of_the_run_date(bundle_dir):
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    assert Bundle.load(bundle_dir).run_date() == date.fromisoformat(manifest["started"][:10])


def test_user_templates_override_the_defaults(bundle_dir, tmp_path):
    custom = tmp_path / "my-templates"
    custom.mkdir()
    (custom / "gate-review.md.j2").write_text("Custom: {{ decision }} ({{ criteria | length }} criteria)\n")
    _, paths = render_bundle(bundle_dir, templates=custom)
    assert paths["markdown"].read_text() == "Custom: HOLD (4 criteria)\n"
    assert "Gate review" in paths["html"].read_text()  # not overridden: the shipped template


def test_a_bundle_without_end_time_says_the_run_did_not_finish(bundle_dir):
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    manifest["ended"] = None
    (bundle_dir / "manifest.json").write_text(json.dumps(manifest))
    _, paths = render_bundle(bundle_dir)
    assert "the run did not finish" in paths["markdown"].read_text()


def test_long_series_are_bucketed_and_plots_are_deterministic():
    from ivv.report import plots
    values = [float(i % 97) for i in range(6000)]
    values[4321] = 500.0
    svg = plots.svg_for({"unit": "ms", "values": values}, "latency", {"value": 100, "unit": "ms", "text": "< 100 ms"})
    assert "max of each 4 samples" in svg and len(svg) < 200_000
    assert svg == plots.svg_for({"unit": "ms", "values": values}, "latency", {"value": 100, "unit": "ms", "text": "< 100 ms"})
    assert plots.svg_for({"values": []}, "empty") is None


def test_measured_cell_of_a_criterion_with_checks_and_a_measurement_shows_both(tmp_path):
    gates = GateSet([load_gate(DEMO / "demo-gate.yaml")])
    bundle = Bundle.create(tmp_path / "reports", "run-m", gates=gates)
    rec = bundle.recorder(test="t::mixed", suite="demo", target_name="vdev")
    rec.check("demo.latency", "schema valid", True)
    rec.check("demo.latency", "not ready when down", True)
    rec.measure("demo.latency", "restart to ready", 3.25, unit="ms")
    bundle.finish()
    render_bundle(bundle.path)
    markdown = (bundle.path / "gate-review.md").read_text()
    assert "**3.25 ms** (restart to ready); 2 of 2 checks pass" in markdown
