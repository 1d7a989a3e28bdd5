"""Does the stack meet its performance targets under the gate's load, measured on the device?"""

import pytest

from ivv.load import capacity_record, figures
from ivv.load import suite as perf

NOMINAL = (*figures.LOAD, *figures.MEMORY, *figures.CAMERA)


@pytest.mark.criterion(*NOMINAL)
def test_nominal_load(evidence, ivv_gates, load_endpoint, load_settings, camera_settings, load_hosts, tmp_path):
    """Latency (HDR p95 and mean), throughput, errors, connection stability, peak memory and the camera's
    frames per second under load."""
    outcome = perf.run(load_endpoint, load_settings, tmp_path / "load", camera=camera_settings, hosts=load_hosts)
    perf.record(evidence, outcome, ivv_gates, NOMINAL)


@pytest.mark.criterion(capacity_record.CRITERION)
def test_capacity(evidence, ivv_gates, load_endpoint, load_settings, capacity_settings, tmp_path):
    """The highest open-model rate with p95 and errors within the gate's thresholds (steps, then bisection)."""
    outcome = capacity_record.run(load_endpoint, ivv_gates, load_settings, capacity_settings, tmp_path / "capacity")
    capacity_record.record(evidence, outcome)


@pytest.mark.criterion(*figures.GROWTH)
def test_soak_memory_growth(evidence, ivv_gates, load_endpoint, soak_settings, load_hosts, tmp_path):
    """A leak shows as a slope: RSS fitted against time over the soak run's steady window."""
    outcome = perf.run(load_endpoint, soak_settings, tmp_path / "soak", source="gate settings `load` + `soak`",
                       hosts=load_hosts)
    perf.record(evidence, outcome, ivv_gates, figures.GROWTH)
