"""`ivv trend FOLDER`: each figure over the history of bundles in one HTML page with the threshold drawn;
an altered bundle is left out and listed, never plotted."""

from __future__ import annotations

import re
from pathlib import Path

from history_support import demo_bundle as bundle

from ivv import cli


def test_trend_plots_every_figure_in_run_order_and_leaves_out_an_altered_bundle(tmp_path, capsys):
    reports = tmp_path / "reports"
    for run, latency in (("run-1", 3.0), ("run-2", 4.5), ("run-3", 2.5)):
        bundle(reports, run, "a", latency=latency)
    tampered = bundle(reports, "run-4", "a", latency=40.0)
    evidence = tampered / "evidence.jsonl"
    evidence.write_text(evidence.read_text().replace('"value": 40.0', '"value": 4.0'))
    assert cli.main(["trend", str(reports)]) == 0
    out = capsys.readouterr().out
    assert "3 runs, 1 figures; left out 1: run-4" in out
    page = (reports / "trend.html").read_text()
    assert 'id="trend-demo.latency-a"' in page and "<svg" in page and "threshold &lt; 50 ms" in page
    values = re.findall(r"<td>(\d+(?:\.\d+)?) ms</td>", page)
    assert values == ["3", "4.5", "2.5"]                    # oldest first
    assert "run-4" in page and "altered" in page            # listed with the reason, not plotted


def test_trend_of_a_folder_without_bundles_is_an_error(tmp_path, capsys):
    assert cli.main(["trend", str(tmp_path)]) == 2
    assert "no run bundle there verifies" in capsys.readouterr().err
    assert not Path(tmp_path / "trend.html").exists()
