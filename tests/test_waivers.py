"""Waiver files: validation errors, and expiry matching (a waiver is valid through its expiry date)."""

from datetime import date
from pathlib import Path

import pytest

from ivv.config.waivers import Waiver, find, load_waivers
from ivv.errors import WaiverError

ROOT = Path(__file__).resolve().parent.parent
BROKEN = ROOT / "tests" / "demo" / "broken"


def test_example_waiver_file_loads():
    waivers = load_waivers(ROOT / "deployment" / "waivers" / "example.yaml")
    assert waivers[0].criterion == "security.transport_tls"
    assert isinstance(waivers[0].expires, date)


@pytest.mark.parametrize(("name", "expected"), [
    ("waivers-missing-expiry.yaml", r"waivers-missing-expiry.yaml:2: waivers\[0\]: 'expires' is missing"),
    ("waivers-bad-date.yaml", r"waivers-bad-date.yaml:5: waivers\[0\].expires: '2026-02-30' is not a calendar date"),
    ("waivers-date-format.yaml", r"waivers-date-format.yaml:5: waivers\[0\].expires: \"31/12/2026\" is not valid; expected a date YYYY-MM-DD"),
    ("waivers-unknown-criterion.yaml", r"waivers-unknown-criterion.yaml:2: waivers\[0\].criterion: 'perf.p99_ms' is in no loaded gate"),
])
def test_broken_waiver_files(name, expected):
    with pytest.raises(WaiverError, match=expected):
        load_waivers(BROKEN / name, known_criteria={"perf.p95_ms"})


def test_expiry_is_inclusive_and_expired_waivers_are_reported():
    waiver = Waiver("perf.p95_ms", "encoder slow path", "media", date(2026, 6, 30))
    assert find([waiver], "perf.p95_ms", date(2026, 6, 30)) == (waiver, [])
    assert find([waiver], "perf.p95_ms", date(2026, 7, 1)) == (None, [waiver])
    assert find([waiver], "perf.avg_response_ms", date(2026, 1, 1)) == (None, [])


def test_a_waiver_may_name_the_target_it_covers(tmp_path):
    path = tmp_path / "waivers.yaml"
    path.write_text("waivers:\n  - {criterion: perf.p95_ms, reason: slow board this quarter, owner: qa,\n"
                    "     expires: '2026-12-31', target: pi}\n  - {criterion: perf.p95_ms, reason: every board "
                    "this quarter, owner: qa, expires: '2026-12-31'}\n")
    for_pi, everywhere = load_waivers(path)
    assert for_pi.target == "pi" and for_pi.to_dict()["target"] == "pi" and everywhere.target is None
    day = date(2026, 6, 1)
    assert find([for_pi], "perf.p95_ms", day, "pi")[0] is for_pi
    assert find([for_pi], "perf.p95_ms", day, "vdevice")[0] is None
    assert find([everywhere], "perf.p95_ms", day, "vdevice")[0] is everywhere
