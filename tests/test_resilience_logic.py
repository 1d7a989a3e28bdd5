"""Pure logic of the resilience room: the rule of three, cut-point planning and release manifests."""

import io
import tarfile

import pytest

from ivv.evidence.claim import Claim, percent, trials_needed
from ivv.resilience.manifest import archive_manifest, match_release, tree_files
from ivv.resilience.plan import Boundary, CutPoint, boundaries_from_events, plan_cuts


# -- rule of three ---------------------------------------------------------------------------------
def test_zero_failures_bound_the_rate_below_three_over_n():
    claim = Claim(trials=10, failures=0)
    assert claim.bound == pytest.approx(0.3)
    assert claim.exact_bound == pytest.approx(1 - 0.05 ** 0.1)
    assert claim.exact_bound < claim.bound                   # 3/n is the safe side
    assert claim.text == "0 failures in 10 trials: failure rate below 30 % at 95 % confidence (rule of three: 3/10)"
    assert claim.enough


def test_failures_claim_no_bound():
    claim = Claim(trials=10, failures=2)
    assert claim.bound is None and claim.exact_bound is None
    assert claim.text.startswith("2 of 10 trials failed: no bound")


def test_few_trials_claim_nothing_below_100_percent():
    assert Claim(2, 0).bound == 1.0 and Claim(3, 0).bound == 1.0
    assert "no bound below 100 % (3/n drops below 100 % from 4 trials on)" in Claim(3, 0).text
    assert "below 75 %" in Claim(4, 0).text
    assert Claim(0, 0).text == "no trial ran: nothing is claimed"


def test_required_rate_needs_three_over_rate_trials():
    assert trials_needed(0.1) == 30
    assert trials_needed(0.05) == 60
    assert trials_needed(1 / 3) == 9
    short = Claim(20, 0, required_rate=0.1)
    assert not short.enough and short.needed == 30
    assert "needs at least 30 trials without failure" in short.text
    met = Claim(30, 0, required_rate=0.1)
    assert met.enough and "meets the gate's required rate below 10 %" in met.text
    assert not Claim(40, 1, required_rate=0.1).enough
    with pytest.raises(ValueError):
        trials_needed(0)


def test_percent_text():
    assert percent(0.3) == "30 %"
    assert percent(0.005) == "0.5 %"
    assert percent(1.0) == "100 %"


# -- cut points ------------------------------------------------------------------------------------
EVENTS = [{"event": "command", "index": 1, "t": 0.0}, {"event": "boundary", "label": "phase:backup", "t": 0.5},
          {"event": "boundary", "label": "command:2", "t": 2.0}, {"event": "boundary", "label": "end", "t": 9.0},
          {"event": "done", "status": 0, "t": 9.0}]


def test_boundaries_come_from_the_runner_events_in_order():
    assert boundaries_from_events(EVENTS) == [Boundary("phase:backup", 0.5), Boundary("command:2", 2.0),
                                              Boundary("end", 9.0)]


def test_plan_cuts_every_boundary_and_random_points_from_the_seed():
    bounds = boundaries_from_events(EVENTS)
    plan = plan_cuts(bounds, 9.0, 3, seed=1234)
    assert [p.boundary for p in plan[:3]] == ["phase:backup", "command:2", "end"]
    randoms = plan[3:]
    assert len(randoms) == 3 and all(0 <= p.at_s <= 9.0 for p in randoms)
    assert plan == plan_cuts(bounds, 9.0, 3, seed=1234)               # same seed, same plan
    assert [p.at_s for p in randoms] != [p.at_s for p in plan_cuts(bounds, 9.0, 3, seed=99)[3:]]
    assert randoms[0].pause() == {"at_s": randoms[0].at_s}
    assert plan[0].pause() == {"boundary": "phase:backup"}
    assert CutPoint.from_dict(randoms[1].as_dict()) == randoms[1]


def test_plan_named_boundaries_only_and_random_cuts_need_a_duration():
    assert [p.boundary for p in plan_cuts([], None, 0, 1, only=["phase:switch"])] == ["phase:switch"]
    with pytest.raises(ValueError, match="duration"):
        plan_cuts([], None, 2, 1)


# -- manifests -------------------------------------------------------------------------------------
def archive(tmp_path, name: str, files: dict[str, bytes]):
    path = tmp_path / f"{name}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for rel, data in files.items():
            info = tarfile.TarInfo(f"stack-{name}/{rel}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_archive_manifest_strips_the_top_folder(tmp_path):
    manifest = archive_manifest(archive(tmp_path, "1", {"VERSION": b"1\n", "src/app.py": b"x"}))
    assert set(manifest) == {"VERSION", "src/app.py"}


def test_match_release_exactly_one_and_mixed(tmp_path):
    old = archive_manifest(archive(tmp_path, "1", {"VERSION": b"1\n", "src/app.py": b"x", "config/r.yaml": b"a"}))
    new = archive_manifest(archive(tmp_path, "2", {"VERSION": b"2\n", "src/app.py": b"x", "config/r.yaml": b"b"}))
    manifests = {"1.0": old, "2.0": new}
    generated = {"lib/dep.py": "f" * 64}
    assert match_release({**old, **generated}, manifests).version == "1.0"
    assert match_release(dict(new), manifests).version == "2.0"
    mixed = match_release({**old, "VERSION": new["VERSION"]}, manifests)
    assert mixed.version is None and mixed.mixed
    assert mixed.holds == {"VERSION": "2.0", "config/r.yaml": "1.0"}
    assert mixed.text == "the install tree is a mix of releases: 1 file as 1.0, 1 file as 2.0"
    torn = match_release({**new, "config/r.yaml": "0" * 64}, manifests)
    assert torn.version is None and not torn.mixed and torn.differing["2.0"] == ["config/r.yaml"]
    assert "1 file as neither" in torn.text


def test_tree_files_reads_a_file_inventory_below_its_root():
    inventory = {"/opt/x/releases/1": {"type": "d"}, "/opt/x/releases/1/VERSION": {"type": "f", "sha256": "a"},
                 "/opt/x/releases/1/link": {"type": "l", "link": "y"}}
    assert tree_files(inventory, "/opt/x/releases/1") == {"VERSION": "a"}
