"""The resilience suite through `ivv gate` on the session's virtual device, with the clean reference stack:
one power cut at the boundary `phase:switch` of the upgrade and of the rollback, one link loss, one kill
per component, the declared trigger once, the camera removed once and the disk filled once. Every res.*
criterion PASSes, the report prints the claim beside each verdict and the cut point x outcome matrix, the
seed is recorded, and the device is left as it was found. (Random cuts and the gate's trial counts run
in `make gate`.)"""

import json

import pytest

from tests.resilience_support import CRITERIA, clean_run

pytestmark = [pytest.mark.vdevice, pytest.mark.extended, pytest.mark.timeout(4000)]


@pytest.fixture(scope="module")
def run(vdevice, tmp_path_factory):
    return clean_run(vdevice, tmp_path_factory)


def test_every_resilience_criterion_passes_on_the_clean_stack(run):
    for criterion in CRITERIA:
        assert run.verdict(criterion) == "PASS", f"{criterion}: {run.explain()}"


def test_the_report_shows_the_claims_the_matrix_and_the_seed(run):
    md = (run.bundle / "gate-review.md").read_text()
    assert "## Resilience" in md and "Random cut points from seed" in md
    assert "| `res.power_cut_upgrade` | **PASS** | 1 | 0 failures in 1 trial: no bound below 100 %" in md
    assert "cut point x outcome" in md and "boundary phase:switch" in md
    manifest = json.loads((run.bundle / "manifest.json").read_text())
    assert isinstance(manifest["resilience"]["seed"], int)
    assert manifest["resilience"]["device_left"]["how"] == "snapshot ivv-res-entry loaded"


def test_each_power_cut_trial_was_a_real_cut_at_its_boundary(run):
    trials = [r for r in run.records("res.power_cut_upgrade") if r["kind"] == "check" and
              (r.get("details") or {}).get("trial")]
    assert trials, run.explain()
    trial = trials[0]["details"]["trial"]
    assert trial["spec"]["cut"]["boundary"] == "phase:switch"
    assert trial["timings"]["power cut to ready"] > 5           # a boot happened, not a restart
    rows = {row[0]: row for row in trials[0]["details"]["table"]["rows"]}
    assert rows["the install tree is exactly one release (1.0.0 or 1.1.0)"][1] == "PASS"
    assert "running the upgrade again converges to 1.1.0" in rows


def test_the_device_is_left_with_the_current_release(vdevice, run):
    assert vdevice.run("cat /opt/camera-service/current/VERSION").stdout.strip() == "1.1.0"
