"""Plots read right: whole-number axes for runs, units on the axes, the threshold drawn in the series' unit,
the same bytes for the same data; the load run's latency and memory plots come from the same module."""

import re

from ivv.report import plots

ROLLBACK_LIMIT = {"op": "<=", "value": 300, "unit": "s", "text": "≤ 300 s"}


def _labels(svg: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


def test_three_runs_get_whole_number_ticks_and_units_on_the_axes():
    labels = _labels(plots.svg_for({"unit": "s", "values": [11.0, 12.4, 11.8]}, "rollback", ROLLBACK_LIMIT))
    assert {"1", "2", "3"} <= set(labels) and not any(re.fullmatch(r"\d+\.\d+", t) for t in labels), labels
    assert "s" in labels and "sample number" in labels and "threshold ≤ 300 s" in labels


def test_fractional_x_keeps_fractional_ticks():
    """Positive control for the tick check above: the parser does see fractional tick labels."""
    labels = _labels(plots.svg_for({"unit": "s", "values": [1, 2, 3], "x": [0.5, 1.0, 1.5], "x_label": "t (s)"},
                                   "fractional"))
    assert any(re.fullmatch(r"\d+\.\d+", t) for t in labels), labels
    assert "t (s)" in labels


def test_threshold_is_drawn_in_the_series_unit_and_left_out_when_units_differ():
    ms = plots.svg_for({"unit": "ms", "values": [120.0, 250.0, 180.0]}, "rollback in ms", ROLLBACK_LIMIT)
    assert "threshold ≤ 300 s" in _labels(ms)
    assert "300000" in _labels(ms)  # 300 s drawn at 300000 ms, not at 300
    other = plots.svg_for({"unit": "MB", "values": [1.0, 2.0]}, "memory", ROLLBACK_LIMIT)
    assert not any(t.startswith("threshold") for t in _labels(other))


def test_load_plots_write_deterministic_svg_files(tmp_path):
    series = {"t_s": [1, 2, 3], "p50_ms": [1.0, 1.2, None], "p95_ms": [2.0, 2.5, 3.0], "p99_ms": [3.0, 3.5, 4.0],
              "max_ms": [5.0, 6.0, 7.0], "requests": [10, 12, 11], "errors": [0, 1, 0]}
    first = plots.latency_plot(series, tmp_path / "a.svg", title="(open model)").read_bytes()
    again = plots.latency_plot(series, tmp_path / "b.svg", title="(open model)").read_bytes()
    assert first == again and b"latency (ms)" in first
    samples = [{"t_s": t, "rss_mb": 40.0 + t, "cpu_pct": 10.0} for t in range(5)]
    fit = {"slope_mb_per_min": 60.0, "intercept_mb": 40.0, "window_s": [0, 4]}
    memory = plots.memory_plot(samples, fit, tmp_path / "m.svg").read_text()
    assert "RSS (MB)" in memory and "+60.00 MB/min" in memory
