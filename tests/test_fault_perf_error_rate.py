"""perf.error_rate and perf.connection_stability can FAIL: a service that crashes under load.

`crash_after` makes the reference service exit after that many requests; the local stack does not
restart it. Calls in flight fail as dropped connections, calls due afterwards find no connection, and
no connection opened at the start survives the run.
"""

import pytest

from ivv.config.gates import GateSet
from ivv.load import suite as perf

pytestmark = pytest.mark.slow


def test_fault_perf_error_rate_and_connection_stability_crash(profile, local_stack_factory, tmp_path):
    gates = GateSet.load(["production-readiness"])
    stack = local_stack_factory(faults={"crash_after": 60})
    endpoint = perf.endpoint_for(stack)
    outcome = perf.run(endpoint, {"users": 4, "spawn_rate": 50, "duration_s": 4, "arrival_rate_per_s": 40,
                                  "task_mix": {"ping": 1}}, tmp_path)
    verdicts = perf.evaluate(outcome, gates, ["perf.error_rate", "perf.connection_stability"])
    s = outcome.summary
    assert s["connections"]["opened"] == 4 and s["connections"]["dropped"] == 4
    assert s["error_rate"] > 0.3 and s["errors"].keys() <= {"ConnectionDropped", "NotConnected", "RpcTimeout"}
    assert verdicts["perf.error_rate"]["verdict"] == "FAIL"
    assert verdicts["perf.connection_stability"]["verdict"] == "FAIL"
