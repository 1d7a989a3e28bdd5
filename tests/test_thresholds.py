"""Threshold comparisons, unit conversion and the text the report prints."""

import math

import pytest

from ivv.evidence.thresholds import Threshold, convert


@pytest.mark.parametrize(("op", "value", "ok", "bad"), [
    ("<", 50, 49.9, 50), ("<=", 300, 300, 300.1), (">", 10, 10.5, 10), (">=", 95, 95, 94.9), ("==", 0, 0, 1),
])
def test_check_passes_and_fails(op, value, ok, bad):
    limit = Threshold(op, value, "ms")
    assert limit.check(ok) is True
    assert limit.check(bad) is False


def test_nan_none_and_bool_never_pass():
    limit = Threshold("<", 50, "ms")
    assert not limit.check(math.nan)
    assert not limit.check(None)
    assert not limit.check(True)


def test_units_convert_before_comparing():
    limit = Threshold("<=", 300, "s")
    assert limit.check(4.9, "min")
    assert not limit.check(5.1, "min")
    assert Threshold("<", 100, "MB").check(90 * 1024 * 1024, "B") is True
    assert convert(0.5, "ratio", "%") == 50
    with pytest.raises(ValueError, match="cannot compare"):
        Threshold("<", 50, "ms").check(3, "MB")


def test_text_and_parse_round_trip():
    assert Threshold("<=", 300, "s").text == "≤ 300 s"
    assert Threshold.parse("< 50 ms") == Threshold("<", 50, "ms")
    assert Threshold.parse("≥ 95 %") == Threshold(">=", 95, "%")
    assert Threshold.from_dict(Threshold("<", 1, "MB/min").to_dict()) == Threshold("<", 1, "MB/min")
    with pytest.raises(ValueError):
        Threshold.parse("about fifty")
    with pytest.raises(ValueError):
        Threshold("~", 1)
