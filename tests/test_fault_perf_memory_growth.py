"""perf.memory_growth can FAIL: a service that leaks shows as an RSS slope, not only as a peak.

The reference stack's `leak_mb_per_min` knob allocates touched memory it never frees. A high rate makes
a short run decisive: the least-squares slope over the steady window must come out near the knob's rate
and fail the gate's < 1 MB/min, while the peak alone would still pass the < 100 MB memory criterion.
"""

import pytest

from ivv.config.gates import GateSet
from ivv.load import suite as perf

pytestmark = pytest.mark.slow


def test_fault_perf_memory_growth_leak(profile, local_stack_factory, tmp_path):
    gates = GateSet.load(["production-readiness"])
    stack = local_stack_factory(faults={"leak_mb_per_min": 300})
    endpoint = perf.endpoint_for(stack)
    outcome = perf.run(endpoint, {"users": 2, "spawn_rate": 50, "duration_s": 6, "arrival_rate_per_s": 20,
                                  "task_mix": {"ping": 1}, "sample_interval_s": 0.5, "warmup_s": 1}, tmp_path)
    verdicts = perf.evaluate(outcome, gates, ["perf.memory_growth", "perf.memory_mb"])
    slope = outcome.fit["slope_mb_per_min"]
    assert 100 <= slope <= 1000, outcome.fit  # the knob's 300 MB/min (a 5 MB step a second), from the samples
    assert verdicts["perf.memory_growth"]["verdict"] == "FAIL"
    assert verdicts["perf.memory_mb"]["verdict"] == "PASS"  # the peak alone would not have caught it
    assert (tmp_path / "resources.csv").read_text().count("\n") >= 10
