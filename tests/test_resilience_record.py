"""Trials into evidence and the report, without a device: per-trial checks and measurements judged by the
gate, the rule-of-three claim beside the verdict, NOT VERIFIED below the gate's required failure rate,
the cut point x outcome matrix and the failed trial's cut point and device state in the report."""

from pathlib import Path

import pytest
import yaml

from ivv.config.gates import GateSet, load_gate
from ivv.errors import GateError
from ivv.evidence.bundle import Bundle
from ivv.report.render import render_bundle
from ivv.resilience.plan import CutPoint
from ivv.resilience.record import record_claim, record_trial
from ivv.resilience.trial import Limits, Trial

GATE = Path(__file__).resolve().parent.parent / "deployment" / "gates" / "resilience.yaml"
UP = "res.power_cut_upgrade"
FRAME = "res.first_frame"


def gates(tmp_path, **settings) -> GateSet:
    data = yaml.safe_load(GATE.read_text())
    data["settings"]["resilience"].update(settings)
    path = tmp_path / "resilience.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return GateSet([load_gate(path)])


def trial(limits, number, ready_s=40.0, mixed=False) -> Trial:
    point = CutPoint.at_boundary("phase:switch") if number == 1 else CutPoint("random", f"random {number}", at_s=3.2)
    found = Trial(UP, number, point.label, {"kind": "power_cut", "operation": "upgrade", "cut": point.as_dict()}, limits)
    found.fact("the install tree is exactly one release (1.0.0 or 1.1.0)", not mixed, expected="1.0.0 or 1.1.0",
               observed="the install tree is a mix of releases: 2 files as 1.0.0, 2 files as 1.1.0" if mixed else
               "the install tree is release 1.0.0")
    found.measure("power cut to ready", ready_s)
    found.fact("a valid camera frame after the power cut", True, criterion=FRAME)
    found.measure("the power cut to the first valid frame", ready_s + 1, setting="resilience.first_frame.power_cut_s",
                  criterion=FRAME)
    if mixed:
        found.state_after = {"version": "1.1.0", "tree": "the install tree is a mix of releases"}
        found.journal = "upgrade.sh: phase: switch"
    return found


def run(tmp_path, gateset, trials) -> tuple[dict, str]:
    bundle = Bundle.create(tmp_path / "reports", "res", gates=gateset)
    bundle.set_manifest("resilience", {"seed": 1234, "destructive": "the virtual device (always allowed)",
                                       "device_left": {"how": "snapshot ivv-res-entry loaded", "seconds": 1.1}})
    evidence = bundle.recorder(test="suites/resilience/test_power_cut.py::test_power_cut_during_upgrade",
                               suite="resilience", target_name="vdevice")
    limits = Limits(gateset)
    for t in trials:
        record_trial(evidence, t, UP)
        record_trial(evidence, t, FRAME)
    record_claim(evidence, trials, UP, limits, headline="power cut to ready")
    record_claim(evidence, trials, FRAME, limits)
    bundle.finish()
    verdicts, paths = render_bundle(bundle.path)
    return verdicts, paths["markdown"].read_text()


def test_clean_trials_pass_with_the_rule_of_three_beside_the_verdict(tmp_path):
    gateset = gates(tmp_path)
    verdicts, md = run(tmp_path, gateset, [trial(Limits(gateset), n) for n in (1, 2, 3, 4)])
    assert verdicts["criteria"][UP]["verdict"] == "PASS"
    assert verdicts["criteria"][FRAME]["verdict"] == "PASS"
    assert "## Resilience" in md and "seed `1234`" in md
    line = next(x for x in md.splitlines() if x.startswith(f"| `{UP}` | **PASS**"))
    assert "| 4 | 0 failures in 4 trials: failure rate below 75 % at 95 % confidence (rule of three: 3/4)" in line
    assert "cut point x outcome" in md and "boundary phase:switch" in md


def test_a_failed_trial_fails_and_names_its_cut_point_and_state(tmp_path):
    gateset = gates(tmp_path)
    limits = Limits(gateset)
    verdicts, md = run(tmp_path, gateset, [trial(limits, 1, mixed=True), trial(limits, 2)])
    assert verdicts["criteria"][UP]["verdict"] == "FAIL"
    assert verdicts["criteria"][FRAME]["verdict"] == "PASS"
    assert "1 of 2 trials failed: no bound on the failure rate is claimed" in md
    failed = next(x for x in md.splitlines() if x.startswith(f"- `{UP}` trial 1"))
    assert "boundary phase:switch" in failed and "a mix of releases" in failed and "device after" in failed
    artifact = next((tmp_path / "reports" / "res" / "artifacts").rglob(f"{UP}-trial-1.txt"))
    assert "## journal excerpt\nupgrade.sh: phase: switch" in artifact.read_text()


def test_slow_recovery_fails_by_the_gate_threshold(tmp_path):
    gateset = gates(tmp_path)
    verdicts, _ = run(tmp_path, gateset, [trial(Limits(gateset), 1, ready_s=301.0)])
    assert verdicts["criteria"][UP]["verdict"] == "FAIL"          # criterion threshold: <= 300 s
    assert verdicts["criteria"][FRAME]["verdict"] == "PASS"        # first frame setting: <= 330 s


def test_too_few_trials_for_the_required_rate_are_not_verified(tmp_path):
    gateset = gates(tmp_path, required_failure_rate={UP: 0.1})
    verdicts, md = run(tmp_path, gateset, [trial(Limits(gateset), n) for n in (1, 2, 3)])
    assert verdicts["criteria"][UP]["verdict"] == "NOT VERIFIED"
    assert "needs at least 30 trials without failure" in md
    assert verdicts["criteria"][FRAME]["verdict"] == "PASS"


def test_no_trial_is_not_verified(tmp_path):
    gateset = gates(tmp_path)
    verdicts, _ = run(tmp_path, gateset, [])
    assert verdicts["criteria"][UP]["verdict"] == "NOT VERIFIED"


def test_limits_come_from_the_gate_only(tmp_path):
    limits = Limits(gates(tmp_path, extra_s=12, bad=5))
    assert limits.threshold(UP).text == "≤ 300 s"
    assert limits.threshold(FRAME, "resilience.first_frame.recording_loss_s").text == "≤ 5 s"
    assert limits.threshold(FRAME, "resilience.extra_s").text == "≤ 12 s"
    with pytest.raises(GateError, match="unit suffix"):
        limits.threshold(FRAME, "resilience.bad")
    with pytest.raises(GateError, match="not set"):
        limits.threshold(FRAME, "resilience.missing_s")
    with pytest.raises(GateError, match="no threshold"):
        limits.threshold("res.auto_rollback")


def test_replay_finds_a_trial_and_its_spec_in_the_bundle(tmp_path, capsys):
    from ivv.cli import main
    from ivv.errors import ConfigError
    from ivv.resilience.replay import command_defaults, find_trial, parse_ref

    gateset = gates(tmp_path)
    limits = Limits(gateset)
    run(tmp_path, gateset, [trial(limits, 1, mixed=True), trial(limits, 2)])
    bundle = Bundle.load(tmp_path / "reports" / "res")
    found = find_trial(bundle.records(), *parse_ref(f"{UP}#2"))
    assert found["spec"]["cut"] == {"kind": "random", "label": "random 2", "boundary": None, "at_s": 3.2}
    assert found["passed"] is True
    with pytest.raises(ConfigError, match=r"recorded trials: res.first_frame#1, res.first_frame#2, "
                                          r"res.power_cut_upgrade#1, res.power_cut_upgrade#2"):
        find_trial(bundle.records(), UP, 9)
    with pytest.raises(ConfigError, match="CRITERION#NUMBER"):
        parse_ref("res.power_cut_upgrade")
    assert command_defaults({"command": ["pytest", "--ivv-inventory", "inv.yaml", "--ivv-target=pi"]}) == \
        {"inventory": "inv.yaml", "target": "pi", "profile": None}
    assert main(["resilience", "replay", str(bundle.path)]) == 0
    listing = capsys.readouterr().out
    assert f"{UP}#1  FAIL         boundary phase:switch" in listing
