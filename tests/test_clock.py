"""Clock offsets from NTP-style exchanges: the tightest round trip wins, the uncertainty is half of it."""

import itertools

import pytest

from ivv.clock import Bracket, ClockOffset, estimate, measure


def test_the_shortest_round_trip_decides():
    # device runs 2.5 s ahead; exchanges of 40, 4 and 20 ms round trip
    clock = estimate([(100.0, 102.52, 100.04), (200.0, 202.502, 200.004), (300.0, 302.51, 300.02)])
    assert clock.offset_s == pytest.approx(2.5) and clock.uncertainty_s == pytest.approx(0.002)
    assert clock.exchanges == 3 and clock.to_local(202.502) == pytest.approx(200.002)
    with pytest.raises(ValueError):
        estimate([])


def test_measure_reads_the_local_clock_around_each_answer():
    ticks = itertools.count(start=1000.0, step=0.001)
    clock = measure(lambda: next(ticks) + 60.0, exchanges=4, local_clock=lambda: next(ticks))
    assert clock.offset_s == pytest.approx(60.0, abs=0.002) and clock.rtt_s == pytest.approx(0.002)


def test_event_latency_bracket_carries_the_uncertainty():
    clock = ClockOffset(offset_s=0.5, uncertainty_s=0.003, rtt_s=0.006, exchanges=8)
    bracket = Bracket.since_event(arrived_local=10.012, event_device_time=10.5, clock=clock)
    assert bracket.lower_ms == pytest.approx(9.0) and bracket.upper_ms == pytest.approx(15.0)
