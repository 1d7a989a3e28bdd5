"""The load and the resource sampler on the virtual device: the gate's task mix through the forwarded
RPC port, the service's unit MainPID sampled over SSH with sudo, every perf figure measured."""

import pytest

from fixtures.stack import ensure_deployed
from ivv.gates import GateSet
from ivv.load import figures
from ivv.load import suite as perf

pytestmark = pytest.mark.vdevice


def test_short_load_on_the_virtual_device_measures_every_figure(vdevice, profile, tmp_path):
    stack = ensure_deployed(vdevice, profile)
    endpoint = perf.endpoint_for(profile, stack, vdevice)
    assert endpoint.selector.unit == profile.units[0] and endpoint.url.startswith("ws://127.0.0.1:")
    gates = GateSet.load(["production-readiness"])
    settings = {**gates.setting("load"), "duration_s": 8, "spawn_rate": 20, "sample_interval_s": 1, "warmup_s": 2}
    outcome = perf.run(endpoint, settings, tmp_path)
    # connecting to a TCG guest takes seconds: the rate is judged over the window calls were made in
    assert outcome.summary["throughput_rps"] >= 0.8 * settings["arrival_rate_per_s"], outcome.summary
    assert len(outcome.samples) >= 6 and not outcome.sampler_errors, outcome.sampler_errors
    assert all(s["rss_mb"] > 5 and s["fds"] > 3 for s in outcome.samples)
    assert len({s["pid"] for s in outcome.samples}) == 1
    verdicts = perf.evaluate(outcome, gates, (*figures.LOAD, *figures.MEMORY, *figures.GROWTH))
    measured = {c: v["verdict"] for c, v in verdicts.items()}
    assert set(measured.values()) <= {"PASS", "FAIL"}, verdicts  # every figure decided, none NOT VERIFIED
    assert measured["perf.error_rate"] == "PASS" and measured["perf.connection_stability"] == "PASS", verdicts
