"""The binding value, repeats and outliers, from small records (pure logic)."""

from ivv.evidence.binding import binding, headroom, outliers, repeats
from ivv.evidence.journal import Record

LE_300_S = {"op": "<=", "value": 300.0, "unit": "s", "text": "≤ 300 s"}
GT_10 = {"op": ">", "value": 10.0, "unit": "req/s", "text": "> 10 req/s"}


def m(seq, value, name="rollback time", verdict="PASS", threshold=LE_300_S, unit="s", **details):
    return Record(seq=seq, kind="measurement", criterion="ops.rollback_time", name=name, verdict=verdict,
                  value=value, unit=unit, threshold=threshold, details=details or None)


def test_the_worst_of_repeats_binds_for_an_upper_bound():
    # the old Measured cell showed the last record (16.2 s) while one rollback took 96.3 s
    records = [m(1, 15.9, "run 1", repeat_of="rollback time"), m(2, 96.3, "run 2", repeat_of="rollback time"),
               m(3, 16.0, "run 3", repeat_of="rollback time"), m(4, 16.2, "failed upgrade: recovery")]
    assert binding(records).seq == 2
    assert repeats(records, binding(records)) == {"name": "rollback time", "n": 3, "min": 15.9, "median": 16.0,
                                                  "max": 96.3, "unit": "s"}


def test_the_smallest_binds_for_a_lower_bound():
    records = [m(1, 40.0, "throughput", threshold=GT_10, unit="req/s"),
               m(2, 12.5, "throughput", threshold=GT_10, unit="req/s")]
    assert binding(records).seq == 2
    assert repeats(records, binding(records))["name"] == "throughput"  # same name, no repeat_of: repeats too


def test_a_failing_measurement_binds_before_a_worse_looking_pass_and_before_a_failed_check():
    failing_check = Record(seq=1, kind="check", criterion="ops.rollback_time", name="version", verdict="FAIL",
                           value=False)
    records = [failing_check, m(2, 290.0, "a"), m(3, 301.0, "b", verdict="FAIL"), m(4, 400.0, "c", verdict="FAIL")]
    assert binding(records).seq == 4                       # the worst failing measurement
    assert binding([failing_check, m(2, 290.0)]).seq == 1  # no failing measurement: the failed check
    assert binding([Record(seq=5, kind="check", criterion="x.y", name="ok", verdict="PASS", value=True)]) is None


def test_units_are_converted_when_ranking_and_summarising():
    records = [m(1, 120000.0, "run", unit="ms"), m(2, 100.0, "run")]   # 120 s beats 100 s
    assert binding(records).seq == 1
    assert repeats(records, binding(records))["max"] == 120000.0 and repeats(records, binding(records))["unit"] == "ms"
    assert headroom(m(3, 150.0)) == 0.5 and headroom(m(4, 450.0)) == -0.5


def test_a_single_measurement_has_no_repeats_and_no_outlier():
    assert repeats([m(1, 10.0)], m(1, 10.0)) is None
    assert outliers([m(1, 10.0), m(2, 90.0)]) == []          # two values: no median to speak of


def test_an_outlier_over_three_times_the_median_is_a_finding():
    records = [m(1, 15.9, "run 1", repeat_of="rollback"), m(2, 96.3, "run 2", repeat_of="rollback"),
               m(3, 16.0, "run 3", repeat_of="rollback")]
    found = outliers(records, "vdevice")
    assert [f["records"] for f in found] == [[2]] and found[0]["kind"] == "outlier"
    assert "96.3 s in record 2 is over 3x the median 16 s of its 3 repeats" in found[0]["text"]
    assert "on vdevice" in found[0]["text"]
    assert outliers([m(1, 10.0), m(2, 29.0), m(3, 10.0)]) == []    # under 3x: no finding
