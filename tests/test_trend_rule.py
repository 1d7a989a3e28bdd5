"""The regression rule (ivv.evidence.regression) and the gate's `regression:` limits, as pure logic: the
limits parse or fail naming the entry, the rule judges the worse direction only, a noise floor and a
bootstrap interval keep noise from crying wolf, the same data always give the same bound."""

from __future__ import annotations

import random

import pytest
import yaml

from ivv.config.gates import GateSet
from ivv.errors import GateError
from ivv.evidence import regression


def _latencies(seed: int, scale: float = 1.0, n: int = 400) -> list[float]:
    rng = random.Random(seed)
    return [scale * rng.lognormvariate(1.0, 0.5) for _ in range(n)]


@pytest.mark.parametrize("text, direction, relative, unit", [
    ("+20%", 1, True, None), ("-10%", -1, True, None), ("+30 s", 1, False, "s"), ("+1 pp", 1, False, "%"),
])
def test_limits_parse(text, direction, relative, unit):
    limit = regression.parse("perf.x", text)
    assert (limit.direction, limit.relative, limit.unit) == (direction, relative, unit)
    assert limit.trend_id == "trend.perf.x" and limit.threshold().op == "<="


@pytest.mark.parametrize("spec", ["20%", "+%", "twenty", {"limit": "+5 ms", "min_effect": "lots"}])
def test_a_bad_limit_names_its_entry(spec):
    with pytest.raises(regression.LimitError, match=r"regression\.perf\.x"):
        regression.parse("perf.x", spec)


def test_only_the_worse_direction_counts():
    up, down = regression.parse("perf.p95_ms", "+20%"), regression.parse("perf.throughput", "-10%")
    assert regression.judge(up, 10.0, 13.0, "ms").bound == pytest.approx(30.0)       # 30 % slower: FAIL
    assert regression.judge(up, 10.0, 5.0, "ms").bound == pytest.approx(-50.0)       # faster: fine
    assert regression.judge(down, 40.0, 30.0, "req/s").bound == pytest.approx(25.0)  # 25 % fewer: FAIL
    assert regression.judge(down, 40.0, 50.0, "req/s").bound == pytest.approx(-25.0)
    absolute = regression.parse("ops.rollback_time", "+30 s")
    assert regression.judge(absolute, 1.0, 1.5, "min").bound == pytest.approx(30.0)  # 90 s against 60 s


def test_the_noise_floor_is_subtracted_before_the_limit():
    limit = regression.parse("perf.p95_ms", {"limit": "+20%", "min_effect": "10 ms"})
    assert regression.judge(limit, 5.0, 11.0, "ms").bound == pytest.approx(-80.0)   # +6 ms: noise here
    assert regression.judge(limit, 5.0, 40.0, "ms").bound == pytest.approx(500.0)   # +35 ms: beyond it


def test_the_bootstrap_bound_is_seeded_and_sees_a_real_shift():
    limit = regression.parse("perf.p95_ms", "+20%")
    base, same, slow = _latencies(1), _latencies(2), _latencies(3, scale=3.0)
    first = regression.judge(limit, 5.0, 5.0, "ms", base, same, "p95")
    again = regression.judge(limit, 5.0, 5.0, "ms", base, same, "p95")
    assert first == again and first.method == "bootstrap" and first.detail["resamples"] == regression.RESAMPLES
    assert first.bound < 20.0                       # the same distribution: no regression
    shifted = regression.judge(limit, 5.0, 15.0, "ms", base, slow, "p95")
    assert shifted.bound > 150.0 and shifted.detail["interval"][0] == shifted.bound


def test_a_relative_limit_on_a_zero_baseline_is_not_judged():
    change = regression.judge(regression.parse("perf.error_rate", "+20%"), 0.0, 1.0, "%")
    assert not change.judged and "absolute limit" in change.detail["why"]


def _gate(tmp_path, regression_section) -> str:
    data = {"gate": {"id": "g", "title": "G"}, "regression": regression_section,
            "criteria": [{"id": "perf.p95_ms", "title": "p95", "requirement": "fast", "mandatory": True,
                          "suite": "performance", "threshold": {"op": "<", "value": 50, "unit": "ms"}}]}
    path = tmp_path / "gate.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_regression_limits_become_trend_criteria(tmp_path):
    gates = GateSet.load([_gate(tmp_path, {"perf.p95_ms": {"limit": "+20%", "min_effect": "10 ms",
                                                           "mandatory": False}})])
    trend = gates.criterion("trend.perf.p95_ms")
    assert trend.threshold.text == "≤ 20 %" and trend.mandatory is False and trend.suite == "trend"
    assert "at most 20 % above the baseline run's, beyond a noise floor of 10 ms" in trend.requirement
    assert [limit.criterion for limit in gates.regression] == ["perf.p95_ms"]


@pytest.mark.parametrize("section, message", [
    ({"perf.p99_ms": "+20%"}, "no criterion 'perf.p99_ms' in this gate"),
    ({"perf.p95_ms": "20%"}, "is not a limit"),
])
def test_a_bad_regression_section_is_a_gate_error(tmp_path, section, message):
    with pytest.raises(GateError, match=message):
        GateSet.load([_gate(tmp_path, section)])
