"""Baselines on real runs: short open-model loads (6 s each) against local reference stacks, one with
every answer delayed 30 ms (fault slow_ms). `ivv compare` flags the p95 regression and none of the
unchanged figures; two runs of identical configuration on this noisy machine raise none; the gate's
trend.* criteria decide the same way from the baseline copied into the bundle; `ivv gate --baseline`
does it in a real gate run, and the report renders from the bundle alone."""

from __future__ import annotations

import json
import shutil

import fleet_support as fs
import history_support as hs
import pytest

from ivv import cli
from ivv.stack.local import start_local

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
UNCHANGED = ("perf.throughput", "perf.error_rate", "perf.connection_stability", "perf.memory_mb")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, profile):
    tmp = tmp_path_factory.mktemp("history")
    gate = hs.perf_gate(tmp)
    honest = start_local(profile, tmp / "honest", faults={})
    slow = start_local(profile, tmp / "slow", faults={"slow_ms": "30"})
    reports = tmp / "reports"
    try:
        base = hs.perf_bundle(reports, "base", honest, gate)
        same = hs.perf_bundle(reports, "same", honest, gate, against=base)
        slowed = hs.perf_bundle(reports, "slow", slow, gate, against=base)
    finally:
        honest.stop()
        slow.stop()
    return {"tmp": tmp, "gate": gate, "reports": reports, "base": base, "same": same, "slow": slowed}


def _compare(capsys, run, baseline, *extra) -> tuple[int, dict[str, str], str]:
    code = cli.main(["compare", str(run), "--baseline", str(baseline), *extra])
    out = capsys.readouterr().out
    status = {}
    for line in out.splitlines():
        if line.startswith("  perf."):
            status[line.split()[0]] = line.rsplit(": ", 1)[1]
    return code, status, out


def test_compare_flags_the_p95_regression_and_no_unchanged_figure(runs, capsys):
    code, status, out = _compare(capsys, runs["slow"], runs["base"])
    assert code == 1, out
    assert status["perf.p95_ms"] == "REGRESSION", out
    for cid in UNCHANGED:
        assert status[cid] == "within limit", (cid, out)
    folder = runs["slow"] / "compare-base"
    markdown, page = (folder / "compare.md").read_text(), (folder / "compare.html").read_text()
    assert "| `perf.p95_ms` | local |" in markdown and "**REGRESSION**" in markdown
    assert 'id="compare-table"' in page and "REGRESSION" in page
    assert "perf.p95_ms on local" in out.split("regressions: ")[1]


def test_identical_runs_on_this_noisy_machine_raise_no_regression(runs, capsys):
    code, status, out = _compare(capsys, runs["same"], runs["base"])
    assert code == 0 and "regressions: none" in out, out
    assert set(status.values()) == {"within limit"}, out


def test_the_noise_floor_is_stated_in_the_comparison(runs, capsys):
    """The floor is the gate's, in plain sight: the comparison says which floor judged each figure."""
    code, _status, out = _compare(capsys, runs["same"], runs["base"])
    markdown = (runs["same"] / "compare-base" / "compare.md").read_text()
    assert "beyond a noise floor of 10 ms" in markdown and code == 0, out


def test_trend_criteria_decide_from_the_baseline_copied_into_the_bundle(runs):
    slow, same = fs.verdicts(runs["slow"])["criteria"], fs.verdicts(runs["same"])["criteria"]
    assert slow["trend.perf.p95_ms"]["verdict"] == "FAIL", slow["trend.perf.p95_ms"]
    assert same["trend.perf.p95_ms"]["verdict"] == "PASS", same["trend.perf.p95_ms"]
    assert {slow[f"trend.{c}"]["verdict"] for c in UNCHANGED} == {"PASS"}
    manifest = json.loads((runs["slow"] / "manifest.json").read_text())
    assert manifest["baseline"]["run_id"] == "base" and len(manifest["baseline"]["evidence_sha256"]) == 64
    copy = json.loads((runs["slow"] / manifest["baseline"]["copy"]["path"]).read_text())
    p95 = next(f for f in copy["figures"] if f["criterion"] == "perf.p95_ms")
    assert p95["statistic"] == "p95" and len(p95["samples"]) > 100      # the raw latencies travel with it
    # the baseline bundle itself may go: the run still renders the same report from its own bundle
    moved = runs["tmp"] / "base-elsewhere"
    shutil.move(runs["base"], moved)
    try:
        before = (runs["slow"] / "gate-review.md").read_bytes()
        assert cli.main(["report", str(runs["slow"])]) == 0
        assert (runs["slow"] / "gate-review.md").read_bytes() == before
    finally:
        shutil.move(moved, runs["base"])


def test_an_altered_baseline_is_refused(runs, capsys, tmp_path):
    altered = tmp_path / "base"
    shutil.copytree(runs["base"], altered)
    evidence = altered / "evidence.jsonl"
    evidence.write_text(evidence.read_text().replace('"unit": "ms"', '"unit": "s"', 1))
    code = cli.main(["compare", str(runs["same"]), "--baseline", str(altered)])
    assert code == 3 and "bundle altered:" in capsys.readouterr().err


def test_ivv_gate_with_a_baseline_judges_the_regression_limits(runs):
    inventory = fs.inventory(runs["tmp"], [fs.local("local")], name="local.yaml")
    code, out = fs.run("gate", "--gate", runs["gate"], "--inventory", inventory, "--suites", "performance",
                       "--reports", runs["reports"], "--run-id", "gated", "--baseline", runs["reports"], "--",
                       "-k", "nominal")
    bundle = runs["reports"] / "gated"
    assert (bundle / "verdicts.json").exists(), out[-3000:]
    criteria = fs.verdicts(bundle)["criteria"]
    assert criteria["trend.perf.p95_ms"]["verdict"] == "PASS", (out[-3000:], criteria["trend.perf.p95_ms"])
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["baseline"]["run_id"] == "slow"     # the newest other bundle of the folder that verifies
    assert code == 0, out[-3000:]
