"""`ivv gate` end to end on the virtual device with the CDR deployment gate: PROCEED, every criterion
backed by measured evidence the report shows, phase timings in the manifest, exit status 0."""

import json

import opsrun
import pytest

pytestmark = pytest.mark.vdevice

CRITERIA = ("ops.deploy", "ops.env_config", "ops.rollback_time", "ops.monitoring", "ops.data_preserved",
            "ops.documentation")


def test_cdr_gate_proceeds_on_the_reference_stack(vdevice, tmp_path_factory):
    run = opsrun.shared_cdr_run(vdevice, tmp_path_factory)
    assert run.verdicts["decision"] == "PROCEED" and run.returncode == 0, run.explain()
    assert "decision: PROCEED" in run.output and "gate-review.html" in run.output
    for criterion in CRITERIA:
        entry = run.verdicts["criteria"][criterion]
        assert entry["verdict"] == "PASS" and entry["evidence"], (criterion, entry)
    for name in ("gate-review.md", "gate-review.html", "verdicts.json", "evidence.jsonl", "junit.xml",
                 "pytest-report.html", "manifest.json"):
        assert (run.bundle / name).exists(), name
    review = (run.bundle / "gate-review.md").read_text()
    # the rollback row shows its binding record (the slowest of the rollbacks), not a summary line
    for text in ("Binding record: [failed upgrade: time from failure detected to healthy",
                 "install time, first command to ready", "Phase timings"):
        assert text in review, text
    page = (run.bundle / "gate-review.html").read_text()
    for text in ("not_ready", "sha256", "ActiveState", "readable by camera-service"):
        assert text in page, text
    phases = {p["name"]: p["seconds"] for p in json.loads((run.bundle / "manifest.json").read_text())["phases"]}
    for suite in opsrun.OPS_SUITES.split(","):
        assert phases[f"suite {suite}"] > 0, phases
    assert phases["total (session)"] >= sum(v for k, v in phases.items() if k.startswith("suite ")) - 1
