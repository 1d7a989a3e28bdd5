"""Conformance: every method called with valid params (contract examples + hypothesis) by the least role
allowed; results validate against the contract. Then the drift table: documented vs observed."""

import pytest

from ivv.contract.conformance import conformance
from ivv.contract.drift import drift
from ivv.contract.matrix import record_matrix, table, transcript
from ivv.evidence.facts import record

CRITERION = "contract.conformance"


@pytest.mark.criterion(CRITERION)
def test_every_method_conforms(contract_probe, evidence, contract_setting):
    result = conformance(contract_probe, generated=int(contract_setting("conformance_examples", 5)),
                         extra_names=tuple(contract_setting("probe_methods", [])))
    failed = record_matrix(evidence, CRITERION, "method conformance", result.rows,
                           table(result.rows, ("method", "expected", "observed", "verdict")),
                           "conformance-exchanges.txt", transcript(result.rows))
    facts = result.facts()
    record(evidence, facts, CRITERION)
    problems = [f"{r.name}: {r.observed}" for r in failed] + [str(v["method"]) + " " + v["path"] + ": " + v["rule"]
                                                              for v in result.violations[:5]]
    assert not problems and all(f.passed for f in facts), "; ".join(problems) or \
        f"missing {result.missing}, extra {result.extra}"


@pytest.mark.criterion(CRITERION)
def test_drift_table(contract_probe, evidence):
    rows = drift(contract_probe.contract, contract_probe.observed)
    failed = record_matrix(evidence, CRITERION, "drift: documented vs observed", rows,
                           table(rows, ("item", "documented", "observed", "verdict")), "drift.txt",
                           transcript(rows))
    assert not failed, "; ".join(f"{r.name}: {r.observed}" for r in failed)
