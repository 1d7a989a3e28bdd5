"""Does the stack meet its performance targets under the gate's load, measured on the device?"""

import pytest

from ivv.load import figures
from ivv.load import suite as perf

NOMINAL = (*figures.LOAD, *figures.MEMORY)


@pytest.mark.criterion(*NOMINAL)
def test_nominal_load(evidence, ivv_gates, load_endpoint, load_settings, tmp_path):
    """Latency (HDR p95 and mean), throughput, errors, connection stability and peak memory under load."""
    outcome = perf.run(load_endpoint, load_settings, tmp_path / "load")
    perf.record(evidence, outcome, ivv_gates, NOMINAL)


@pytest.mark.criterion(*figures.GROWTH)
def test_soak_memory_growth(evidence, ivv_gates, load_endpoint, soak_settings, tmp_path):
    """A leak shows as a slope: RSS fitted against time over the soak run's steady window."""
    outcome = perf.run(load_endpoint, soak_settings, tmp_path / "soak", source="gate settings `load` + `soak`")
    perf.record(evidence, outcome, ivv_gates, figures.GROWTH)
