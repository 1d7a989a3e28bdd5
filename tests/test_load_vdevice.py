"""The load and the resource sampler on the virtual device: the gate's task mix through the forwarded
RPC port, the service's unit MainPID sampled over SSH with sudo, every perf figure measured."""

import pytest
from ivv.fixtures.stack import ensure_deployed

from ivv.config.gates import GateSet
from ivv.load import figures
from ivv.load import suite as perf

pytestmark = pytest.mark.vdevice


def test_short_load_on_the_virtual_device_measures_every_figure(vdevice, profile, tmp_path):
    stack = ensure_deployed(vdevice, profile)
    endpoint = perf.endpoint_for(stack)
    assert endpoint.selector.unit == profile.units[0] and endpoint.url.startswith("ws://127.0.0.1:")
    gates = GateSet.load(["production-readiness"])
    # 20 s at 20 calls/s: about 380 calls once spawned, enough to show "< 1 %" (299 without a failure;
    # 16 s gave 297)
    settings = {**gates.setting("load"), "duration_s": 20, "spawn_rate": 20, "sample_interval_s": 0.5,
                "warmup_s": 2}
    outcome = perf.run(endpoint, settings, tmp_path)
    s = outcome.summary
    # the load reached the service through the forwarded port (how fast a TCG guest answers depends on
    # the host: the verdicts below may be PASS or FAIL, but each must be decided by a measurement)
    assert s["ok"] >= settings["arrival_rate_per_s"] and s["connections"]["opened"] >= settings["users"], s
    assert len(outcome.samples) >= 4 and not outcome.sampler_errors, (outcome.samples, outcome.sampler_errors)
    assert all(x["rss_mb"] > 5 and x["fds"] > 3 for x in outcome.samples)
    assert len({x["pid"] for x in outcome.samples}) == 1
    verdicts = perf.evaluate(outcome, gates, (*figures.LOAD, *figures.MEMORY, *figures.GROWTH))
    measured = {c: v["verdict"] for c, v in verdicts.items()}
    assert set(measured.values()) <= {"PASS", "FAIL"}, verdicts  # every figure decided, none NOT VERIFIED
