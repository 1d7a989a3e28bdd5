"""res.first_frame FAILs when recordings are MP4 with their index written at the end (knob
fragile_recordings): the recording interrupted by the power cut of the upgrade trial cannot be played."""

import pytest

from tests.resilience_support import failing, verdicts_of
from tests.test_fault_res_power_cut_upgrade import upgrade_cut

pytestmark = [pytest.mark.vdevice, pytest.mark.extended, pytest.mark.timeout(1800)]


def test_fault_res_first_frame_unplayable_recording(vdevice, tmp_path_factory, tmp_path):
    trials = upgrade_cut(vdevice, tmp_path_factory)
    verdicts, _ = verdicts_of(tmp_path, trials, "res.first_frame")
    assert verdicts["res.first_frame"]["verdict"] == "FAIL"
    bad = {f.name: f for f in failing(trials[0], "res.first_frame")}
    recording = bad["the recording interrupted by the cut is playable"]
    assert recording.observed["fetched"] and not recording.observed["playable"]
    # its positive control: the frame itself came back after the cut
    assert any(f.name == "a valid camera frame after the power cut" and f.passed for f in trials[0].facts)
