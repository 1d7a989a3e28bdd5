"""Trials into evidence: one check per trial and criterion (with its facts, timings, and for a failure
the cut point, the device's state after and a journal excerpt), its measurements, and per criterion the
claim the trials support, with the cut point x outcome matrix and the recovery-time series.

The claim (`ivv.evidence.claim`) is the rule of three on the trials that decided the criterion: with no
failure it is a PASS check stating the bound; below the gate's required failure rate
(`resilience.required_failure_rate`, a number or {criterion: rate}) it is a gap (NOT VERIFIED, with the
number of trials needed); with failures it is a FAIL listing them. No trial at all is a gap.
"""

from __future__ import annotations

import inspect
import json

from ivv.evidence.claim import Claim
from ivv.resilience.trial import Measure, Trial


def record_measure(evidence, measure: Measure, **extra):
    """A measurement judged by the gate: its criterion's threshold, or the gate setting it names."""
    if "setting" in inspect.signature(evidence.measure).parameters:
        return evidence.measure(measure.criterion, measure.name, measure.value, unit=measure.unit,
                                setting=measure.setting, **extra)
    return evidence.measure(measure.criterion, measure.name, measure.value, unit=measure.unit,
                            threshold=measure.threshold if measure.setting else None, **extra)


def required_rate(limits, criterion: str) -> float | None:
    value = limits.setting("resilience.required_failure_rate")
    if isinstance(value, dict):
        value = value.get(criterion)
    return float(value) if value else None


def record_trial(evidence, trial: Trial, criterion: str) -> None:
    """Everything one trial says about `criterion`."""
    label = f"trial {trial.number} ({trial.point})"
    for gap in [u for u in trial.undecided if u.criterion == criterion]:
        evidence.gap(criterion, f"{label}: {gap.name}: {gap.reason}", details={"trial": trial.summary(criterion)})
    facts = [f for f in trial.facts if f.criterion == criterion]
    measures = [m for m in trial.measures if m.criterion == criterion]
    if trial.passed_for(criterion) is None and not facts:
        return
    passed = trial.passed_for(criterion)
    arts = []
    if passed is False:
        text = (f"# {label}: FAIL\nspec: {json.dumps(trial.spec, sort_keys=True)}\n\n## failures\n"
                + "\n".join(trial.failures(criterion)) + "\n\n## device state after\n"
                + json.dumps(trial.state_after, indent=2, sort_keys=True, default=str)
                + "\n\n## journal excerpt\n" + (trial.journal or "(none)") + "\n\n## operation output\n"
                + (trial.output or "(none)") + "\n")
        arts.append(evidence.artifact(f"{criterion}-trial-{trial.number}.txt", text))
    rows = [[f.name, "PASS" if f.passed else "FAIL", _cell(f.expected), _cell(f.observed)] for f in facts]
    rows += [[m.name, "PASS" if m.passed else "FAIL", m.threshold.text, f"{m.value} {m.unit}"] for m in measures]
    evidence.check(criterion, f"{label}: {'all checks pass' if passed else 'FAILED'}", passed is True,
                   expected="every check of the trial passes", observed=trial.failures(criterion) or "all pass",
                   artifacts=arts,
                   details={"trial": trial.summary(criterion), "journal_excerpt": trial.journal[-1500:] if passed is False else "",
                            "table": {"title": f"{label}", "columns": ["check", "verdict", "expected", "observed"],
                                      "rows": rows}})
    for measure in measures:
        record_measure(evidence, measure, details={"trial": trial.number, "point": trial.point})


def _cell(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 160 else text[:157] + "..."


def record_claim(evidence, trials: list[Trial], criterion: str, limits, headline: str | None = None):
    """The claim `trials` support for `criterion`, with the matrix and the recovery-time series."""
    decided = [t for t in trials if t.passed_for(criterion) is not None]
    failed = [t for t in decided if t.passed_for(criterion) is False]
    claim = Claim(len(decided), len(failed), required_rate(limits, criterion))
    matrix = {"title": "cut point x outcome" if any(t.spec.get("kind") == "power_cut" for t in trials) else
              "trial x outcome", "columns": ["trial", "point", "outcome", "state after", "timings", "failures"],
              "rows": [[t.number, t.point, _outcome(t.passed_for(criterion)), _state(t), _timings(t),
                        "; ".join(t.failures(criterion))[:300]] for t in trials]}
    details = {"claim": claim.as_dict(), "table": matrix, "trials": len(trials), "decided": len(decided)}
    record_worst(evidence, [m for t in decided for m in t.measures if m.criterion == criterion
                            and (headline is None or m.name.startswith(headline))], len(decided))
    if not decided:
        return evidence.gap(criterion, f"no trial decided anything ({len(trials)} run)", details=details)
    if failed:
        return evidence.check(criterion, f"{claim.text}", False, expected="0 failed trials",
                              observed=[f"trial {t.number} ({t.point})" for t in failed], details=details)
    if not claim.enough:
        return evidence.gap(criterion, claim.text, details=details)
    return evidence.check(criterion, claim.text, True, expected="0 failed trials", observed=f"0 of {len(decided)}",
                          details=details)


FIRST_FRAME = "res.first_frame"


def record_trials(evidence, trials: list[Trial], criterion: str, limits, headline: str | None = None):
    """Every trial of one fault kind, for its criterion and for the first frame after recovery, and the
    claim they support for the criterion: what each resilience test records."""
    for trial in trials:
        record_trial(evidence, trial, criterion)
        record_trial(evidence, trial, FIRST_FRAME)
    return record_claim(evidence, trials, criterion, limits, headline=headline)


def record_worst(evidence, measures: list[Measure], trials: int) -> None:
    """The worst of a measurement over the trials, with every trial's value as the plotted series."""
    measures = [m for m in measures if m.value is not None]
    if not measures:
        return
    name = measures[0].name.split(":")[0]
    same = [m for m in measures if m.name.split(":")[0] == name and m.setting == measures[0].setting]
    worst = max(same, key=lambda m: m.value if m.threshold.op in ("<", "<=") else -m.value)
    record_measure(evidence, Measure(worst.criterion, f"worst {name} of {len(same)} trials", worst.value, worst.unit,
                                     worst.setting, worst.threshold),
                   details={"values": [m.value for m in same], "trials": trials},
                   series={"name": f"{name} per trial", "unit": worst.unit, "values": [m.value for m in same],
                           "x_label": "trial"})


def _outcome(passed: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: "not decided"}[passed]


def _state(trial: Trial) -> str:
    state = trial.state_after
    if state:
        return f"{state.get('version')}: {state.get('tree', state.get('error', ''))}"[:160]
    facts = [f for f in trial.facts if "install tree" in f.name]
    return str(facts[0].observed)[:160] if facts else ""


def _timings(trial: Trial) -> str:
    return ", ".join(f"{k} {v}" for k, v in trial.timings.items() if isinstance(v, (int, float)))[:200]
