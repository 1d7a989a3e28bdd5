"""The capacity search's pure logic: the step/bisect plan, its stopping rules, the judging of a step and
what the search may claim against the gate's minimum. A simulated stack with a known knee stands in for
the load process."""

import pytest

from ivv.errors import ConfigError
from ivv.evidence.thresholds import Threshold
from ivv.load.capacity import CLEAN, GENERATOR, OVER, CapacitySettings, Conclusion, Search, Step, judge

LIMITS = {"perf.p95_ms": Threshold("<", 100, "ms"), "perf.error_rate": Threshold("<", 1, "%")}
AT_LEAST_40 = Threshold(">=", 40, "req/s")


def settings(**kw) -> CapacitySettings:
    return CapacitySettings.from_settings({"start_rate": 20, "step_factor": 2, "step_s": 5, "warmup_s": 1,
                                           "max_rate": 1280, "bisect_steps": 3, "max_seconds": 600, **kw})


def simulate(search: Search, knee: float, generator_limit: float = float("inf"), step_cost: float = 6.0):
    """Run the plan against a stack whose steps are clean below `knee` and a generator that lags at
    `generator_limit`; returns the rates in the order they were tried."""
    elapsed, tried = 0.0, []
    while (planned := search.next_step(elapsed, step_cost)) is not None:
        rate, phase = planned
        tried.append(rate)
        verdict = GENERATOR if rate >= generator_limit else (CLEAN if rate < knee else OVER)
        search.record(Step(len(tried) - 1, rate, phase, verdict, ["why"] if verdict != CLEAN else []))
        elapsed += step_cost
        assert len(tried) < 50, tried  # the plan always ends
    return tried


def test_steps_up_then_bisects_towards_the_knee():
    search = Search(settings(), minimum=None)
    tried = simulate(search, knee=100)
    assert tried[:4] == [20, 40, 80, 160]  # steps until one fails
    assert tried[4:] == [120, 100, 90]      # then bisection between 80 (clean) and 160 (over)
    found = search.conclusion()
    assert (found.form, found.lower, found.upper) == ("knee", 90, 100)
    assert "bisection done" in search.stop_reason


def test_the_gate_minimum_is_probed_when_it_lies_inside_the_bracket():
    search = Search(settings(start_rate=25, step_factor=4), minimum=AT_LEAST_40)
    tried = simulate(search, knee=45)
    assert tried[:3] == [25, 100, 40]  # 40 = the gate's minimum, before any midpoint
    found = search.conclusion()
    assert found.verdict == "PASS" and found.value >= 40


def test_a_knee_under_the_minimum_fails_and_says_where():
    search = Search(settings(), minimum=AT_LEAST_40)
    simulate(search, knee=30)
    found = search.conclusion()
    assert found.verdict == "FAIL" and found.upper <= 40 and found.value < 40
    assert "failed" in found.reason


def test_no_clean_step_at_all_fails_against_the_minimum():
    search = Search(settings(), minimum=AT_LEAST_40)
    tried = simulate(search, knee=5)
    assert tried[0] == 20 and all(r < 20 for r in tried[1:])  # bisects down from the first step
    found = search.conclusion()
    assert found.verdict == "FAIL" and found.value < 20


def test_clean_up_to_max_rate_is_only_a_lower_bound():
    search = Search(settings(max_rate=100), minimum=AT_LEAST_40)
    tried = simulate(search, knee=10_000)
    assert tried == [20, 40, 80, 100]  # the last step is capped at max_rate
    found = search.conclusion()
    assert (found.form, found.verdict, found.value) == ("at least", "PASS", 100)
    assert "max_rate" in found.stop_reason


def test_generator_limited_ends_the_search_and_never_fails_the_stack():
    search = Search(settings(), minimum=Threshold(">=", 200, "req/s"))
    tried = simulate(search, knee=10_000, generator_limit=160)
    assert tried == [20, 40, 80, 160]  # nothing after the generator-limited step
    found = search.conclusion()
    assert found.generator_limited and found.form == "at least" and found.value == 80
    assert found.verdict == "NOT VERIFIED"  # a lower bound under the minimum proves nothing
    assert "load generator" in found.stop_reason


def test_generator_limited_above_the_minimum_still_passes_on_the_lower_bound():
    search = Search(settings(), minimum=AT_LEAST_40)
    simulate(search, knee=10_000, generator_limit=160)
    assert search.conclusion().verdict == "PASS"


def test_time_budget_stops_before_a_step_that_would_overrun():
    search = Search(settings(max_seconds=20), minimum=AT_LEAST_40)
    tried = simulate(search, knee=10_000, step_cost=6.0)
    assert len(tried) == 3 and "time budget" in search.stop_reason  # 3 x 6 s; a fourth would pass 20 s


def test_minimum_inside_an_unresolved_bracket_is_not_verified():
    found = Conclusion.of(30, 50, "bisection done", AT_LEAST_40, False)
    assert found.verdict == "NOT VERIFIED" and "inside" in found.reason


def test_no_minimum_in_the_gate_is_not_verified():
    assert Conclusion.of(80, 160, "done", None, False).verdict == "NOT VERIFIED"


def test_judge_uses_the_gate_thresholds_and_the_lag_bound():
    ok = {"perf.p95_ms": (20.0, "ms"), "perf.error_rate": (0.0, "%")}
    assert judge(ok, LIMITS, 3.0, 50) == (CLEAN, [])
    slow = {**ok, "perf.p95_ms": (150.0, "ms")}
    verdict, reasons = judge(slow, LIMITS, 3.0, 50)
    assert verdict == OVER and "perf.p95_ms 150.00 ms not < 100 ms" in reasons[0]
    failing = {**ok, "perf.error_rate": (2.5, "%")}
    assert judge(failing, LIMITS, 3.0, 50)[0] == OVER
    verdict, reasons = judge(slow, LIMITS, 80.0, 50)  # lagging generator: the step proves nothing
    assert verdict == GENERATOR and "load generator" in reasons[0]
    assert judge(ok, {"perf.p95_ms": Threshold("<", 0.1, "s")}, 1.0, 50)[0] == CLEAN  # units convert


@pytest.mark.parametrize("bad, field", [
    ({"step_factor": 1}, "capacity.step_factor"),
    ({"step_s": 0}, "capacity.step_s"),
    ({"warmup_s": 5, "step_s": 5}, "capacity.warmup_s"),
    ({"bisect_steps": 1.5}, "capacity.bisect_steps"),
    ({"start_rate": 500, "max_rate": 100}, "capacity.start_rate"),
    ({"limits": ["perf.memory_mb"]}, "capacity.limits"),
    ({"step": 3}, "step"),
])
def test_bad_capacity_settings_name_the_field(bad, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")) as err:
        CapacitySettings.from_settings(bad, source="gates/pr.yaml")
    assert "gates/pr.yaml" in str(err.value)


def test_the_shipped_gate_settings_are_valid_and_bounded():
    from ivv.config.gates import GateSet

    gates = GateSet.load(["production-readiness"])
    shipped = CapacitySettings.from_settings(gates.setting("capacity"))
    assert shipped.max_seconds <= 120 and shipped.max_calls < 10 ** 6
    assert gates.criterion("perf.capacity").threshold.unit == "req/s"
    assert all(gates.criterion(c).threshold is not None for c in shipped.limits)
