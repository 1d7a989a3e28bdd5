"""Gate files: the shipped gates load, and broken gates fail with file, line, field and expectation."""

from pathlib import Path

import pytest

from ivv.config.gates import SHIPPED, GateSet, load_gate, resolve
from ivv.errors import GateError
from ivv.evidence.thresholds import Threshold

ROOT = Path(__file__).resolve().parent.parent
BROKEN = ROOT / "tests" / "demo" / "broken"


def test_shipped_gates_load_with_thresholds_and_settings():
    gates = GateSet.load(SHIPPED, root=ROOT)
    ids = {c.id for c in gates.criteria}
    assert {"ops.deploy", "ops.env_config", "ops.rollback_time", "ops.monitoring", "ops.data_preserved",
            "ops.documentation"} <= ids
    assert {"perf.avg_response_ms", "perf.p95_ms", "perf.throughput", "perf.memory_mb", "perf.error_rate",
            "perf.connection_stability", "perf.memory_growth", "security.auth_enforced",
            "contract.jsonrpc_compliance", "security.transport_tls"} <= ids
    assert gates.criterion("ops.rollback_time").threshold == Threshold("<=", 300, "s")
    assert gates.criterion("perf.avg_response_ms").threshold == Threshold("<", 50, "ms")
    assert gates.criterion("ops.env_config").threshold is None
    assert gates.setting("rollback.repeats") == 3
    assert gates.setting("load.users") >= 1
    assert gates.setting("load.nope", "fallback") == "fallback"
    assert all(len(g.sha256) == 64 for g in gates.gates)


def test_unknown_criterion_and_unknown_gate_are_clear():
    gates = GateSet.load(["cdr-deployment"], root=ROOT)
    with pytest.raises(GateError, match="'perf.p95_ms' is in no loaded gate"):
        gates.criterion("perf.p95_ms")
    with pytest.raises(GateError, match="no-such-gate"):
        resolve("no-such-gate", root=ROOT)


def test_criterion_ids_unique_across_gates():
    gate = load_gate(ROOT / "deployment" / "gates" / "cdr-deployment.yaml")
    with pytest.raises(GateError, match="also defined by gate 'cdr-deployment'"):
        GateSet([gate, gate])


@pytest.mark.parametrize(("name", "expected"), [
    ("gate-yaml-syntax.yaml", r"gate-yaml-syntax.yaml:\d+: not valid YAML"),
    ("gate-missing-field.yaml", r"gate-missing-field.yaml:3: criteria\[0\]: 'requirement' is missing"),
    ("gate-bad-operator.yaml", r"gate-bad-operator.yaml:6: criteria\[0\].threshold.op: \"lt\" is not allowed; expected one of <, <="),
    ("gate-wrong-type.yaml", r"gate-wrong-type.yaml:7: criteria\[0\].mandatory: \"yes\" has the wrong type; expected boolean"),
    ("gate-unknown-field.yaml", r"gate-unknown-field.yaml:6: criteria\[0\].thresold: .*allowed fields: .*threshold"),
    ("gate-duplicate-id.yaml", r"gate-duplicate-id.yaml:8: criteria\[1\].id: 'ops.deploy' is already used"),
    ("gate-duplicate-key.yaml", r"gate-duplicate-key.yaml:7: criteria\[0\].mandatory: duplicate key \(first given on line 6\)"),
    ("gate-bad-suite.yaml", r"gate-bad-suite.yaml:7: criteria\[0\].suite: \"Deploy ment\" is not valid; expected the suite folder"),
])
def test_broken_gate_errors_name_file_line_field_and_expectation(name, expected):
    with pytest.raises(GateError, match=expected):
        load_gate(BROKEN / name)


def test_wrong_type_reports_every_problem():
    with pytest.raises(GateError) as info:
        load_gate(BROKEN / "gate-wrong-type.yaml")
    assert "threshold.value: \"fifty\" has the wrong type; expected number" in str(info.value)


def _gates(tmp_path, settings: str = "", trace: str = "") -> GateSet:
    path = tmp_path / "gate.yaml"
    path.write_text("gate: {id: g, title: G}\n" + settings + "criteria:\n"
                    "  - {id: a.b, title: A, requirement: r, mandatory: true, suite: health" + trace + "}\n")
    return GateSet([load_gate(path)])


def test_trace_lists_the_requirements_a_criterion_verifies(tmp_path):
    gates = _gates(tmp_path, trace=", trace: [REQ-12, CDR-4.3]")
    assert gates.criterion("a.b").trace == ("REQ-12", "CDR-4.3")
    assert gates.criterion("a.b").to_dict()["trace"] == ["REQ-12", "CDR-4.3"]
    assert _gates(tmp_path / "..", trace="").criterion("a.b").trace == ()
    with pytest.raises(GateError, match="trace"):
        _gates(tmp_path, trace=", trace: [REQ-1, REQ-1]")


def test_a_named_setting_is_a_threshold_in_three_forms(tmp_path):
    gates = _gates(tmp_path, "settings:\n  health:\n    start_to_ready_s: 30\n    latency_p95_ms: {op: '<', value: 40, "
                             "unit: ms}\n    text: '>= 95 %'\n    samples: 20\n    flag_s: true\n")
    assert gates.threshold("a.b", "health.start_to_ready_s") == Threshold("<=", 30, "s")
    assert gates.threshold("a.b", "health.latency_p95_ms") == Threshold("<", 40, "ms")
    assert gates.threshold("a.b", "health.text") == Threshold(">=", 95, "%")
    with pytest.raises(GateError, match="'health.samples' = 20 is not a threshold: a plain number needs a unit"):
        gates.threshold("a.b", "health.samples")
    with pytest.raises(GateError, match="'health.flag_s' = True is not a threshold"):
        gates.threshold("a.b", "health.flag_s")
    with pytest.raises(GateError, match="gate setting 'health.nope_s' is not set in any loaded gate"):
        gates.threshold("a.b", "health.nope_s")
    with pytest.raises(GateError, match="criterion 'a.b' has no `threshold`"):
        gates.threshold("a.b")


def test_a_criterion_naming_no_suite_folder_is_refused_by_ivv_gate(tmp_path):
    """A team's own suite name is fine where its folder exists (--suites-dir); a typo is an error naming
    the gate file, before any test runs."""
    from ivv.commands.gate import check_suites
    gate = tmp_path / "g.yaml"
    gate.write_text("gate: {id: own, title: Own}\ncriteria:\n  - {id: own.check, title: t, requirement: r, "
                    "mandatory: true, suite: camera_extras}\n")
    gates = GateSet([load_gate(gate)])
    with pytest.raises(GateError, match=r"g.yaml: criterion own.check: suite 'camera_extras' is no suite folder"):
        check_suites(gates, None)
    (tmp_path / "suites" / "camera_extras").mkdir(parents=True)
    check_suites(gates, tmp_path / "suites")
