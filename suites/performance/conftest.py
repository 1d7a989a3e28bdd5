"""Performance suite: the gate's load against the deployed stack, the service's resources sampled meanwhile.

Thin on purpose: the load, the figures and the evidence live in ivv.load (`ivv.load.suite`,
`ivv.load.capacity_record`); the load shapes and thresholds come from the gate (`load:`, `soak:`,
`capacity:` and `camera:` settings, `perf.*` criteria).
"""

import pytest

from ivv.load import remote
from ivv.load import suite as perf


@pytest.fixture(scope="module")
def load_endpoint(deployed_stack):
    return perf.endpoint_for(deployed_stack)


@pytest.fixture(scope="session")
def load_hosts(ivv_targets):
    """The inventory's load generators (`role: loadgen`), checked and connected: their Locust workers join
    the nominal and soak runs (ivv.load.remote). None listed: the load comes from this machine alone."""
    with remote.generators(ivv_targets.inventory) as hosts:
        yield hosts


@pytest.fixture(scope="module")
def load_settings(ivv_gates):
    """`load` settings of the gate, plus `workers` (Locust worker processes, 0 = one local runner)."""
    return dict(ivv_gates.setting("load", {}) or {})


@pytest.fixture(scope="module")
def soak_settings(ivv_gates, load_settings):
    """The soak run: the nominal load shape for `soak.duration_s`, sampled every `soak.sample_interval_s`."""
    soak = dict(ivv_gates.setting("soak", {}) or {})
    settings = dict(load_settings)
    settings["duration_s"] = soak.get("duration_s", 120)
    settings["sample_interval_s"] = soak.get("sample_interval_s", 5)
    if "warmup_s" in soak:
        settings["warmup_s"] = soak["warmup_s"]
    return settings


@pytest.fixture(scope="module")
def camera_settings(ivv_gates):
    """`camera` settings of the gate (`window_s`): the camera's frames are read during the nominal load."""
    return dict(ivv_gates.setting("camera", {}) or {})


@pytest.fixture(scope="module")
def capacity_settings(ivv_gates):
    """`capacity` settings of the gate: the open-model rate search (ivv.load.capacity)."""
    return dict(ivv_gates.setting("capacity", {}) or {})
