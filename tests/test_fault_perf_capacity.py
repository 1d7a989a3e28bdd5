"""perf.capacity can FAIL: a CPU-bound service has less capacity, and the search measures how much less.

Clean stack and `cpu_ms=40` (each call burns 40 ms of CPU: at most 25 calls per second per core) side by
side with the same short search, judged with the shipped gate's thresholds (p95, error rate, and the
minimum capacity). `slow_ms` only sleeps and costs no capacity: the contrast is the point of `cpu_ms`.
"""

import pytest

from ivv.config.gates import GateSet
from ivv.load import capacity_record as capacity
from ivv.load import suite as perf

pytestmark = pytest.mark.slow

# A short search; the generator's lag bound is wider than the gate's because this machine's 2 cores are
# shared with the service under test and with other work (the lag rule itself: test_load_capacity_plan).
SHORT = {"start_rate": 20, "step_factor": 2, "step_s": 3, "warmup_s": 1, "max_rate": 320, "bisect_steps": 2,
         "max_seconds": 35, "max_send_lag_p99_ms": 100}
CPU_MS = 40   # at most 25 calls a second per core: well under the gate's 40 req/s (25 ms sat on it)


def test_fault_perf_capacity_cpu_bound_service(profile, local_stack_factory, tmp_path):
    gates = GateSet.load(["production-readiness"])
    load = gates.setting("load")
    runs = {}
    for name, faults in (("clean", {}), ("cpu_ms", {"cpu_ms": CPU_MS})):
        endpoint = perf.endpoint_for(local_stack_factory(faults=faults))
        outcome = capacity.run(endpoint, gates, load, SHORT, tmp_path / name, sample_interval_s=0.5)
        verdict = perf.evaluate(outcome, gates, [capacity.CRITERION], tmp_path / f"{name}.jsonl",
                                record_with=capacity.record)[capacity.CRITERION]
        runs[name] = (outcome, verdict, capacity.conclusion(outcome, gates.criterion(capacity.CRITERION).threshold))
    (clean, clean_verdict, clean_found), (busy, busy_verdict, busy_found) = runs["clean"], runs["cpu_ms"]
    assert clean_verdict["verdict"] == "PASS", clean_verdict
    assert busy_verdict["verdict"] == "FAIL", busy_verdict
    # the measured capacity drops as the knob says it must: under 1000 / cpu_ms calls per second, with a
    # failing step at or under that rate, while the clean stack sustained several times that
    assert busy_found.value < 1000 / CPU_MS and busy_found.upper <= 1000 / CPU_MS, busy_found
    assert clean_found.value >= 4 * busy_found.upper, (clean_found, busy_found)
    for outcome in (clean, busy):
        steps = capacity.steps_of(outcome)
        assert steps and all(s["figures"]["service_cpu_pct"] is not None for s in steps), steps
        assert (outcome.out_dir / "capacity.svg").read_text().startswith("<?xml")
        assert outcome.summary["requests"] > 0 and outcome.result["capacity"]["conclusion"]["stop_reason"]
    # where the CPU-bound stack failed, the service was burning CPU and the generator kept its schedule
    over = [s for s in capacity.steps_of(busy) if s["verdict"] == "over"]
    assert over and all(s["figures"]["send_lag_p99_ms"] <= SHORT["max_send_lag_p99_ms"] for s in over), over
    assert max(s["figures"]["service_cpu_pct"] for s in over) > 10, over
