"""Reference bundles for the report self-tests: small record lists through `ivv.evidence.journal`, a gate
file, and verdicts in the format-2 shape (per-target verdicts, binding record, repeats, findings, trace,
integrity, selection) written here, so the report's new parts are tested before the evidence spine
produces them. Also the Chromium and poppler helpers the HTML and PDF checks share.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

from ivv.config.gates import GateSet, load_gate
from ivv.evidence.bundle import Bundle
from ivv.evidence.verdicts import derive
from ivv.report.render import write_reports

RUN_DATE = date(2026, 12, 1)
GATE = """\
gate: {id: review-demo, title: Review demonstration gate, version: "2.0"}
settings:
  rollback: {repeats: 3}
criteria:
  - id: ops.rollback_time
    title: Rollback within 5 minutes
    requirement: Rolling back completes and the services are ready again within 5 minutes, worst of the runs.
    threshold: {op: "<=", value: 300, unit: s}
    mandatory: true
    suite: rollback
  - id: perf.p95_ms
    title: 95th percentile response time
    requirement: The 95th percentile JSON-RPC latency under the nominal load is below 100 ms.
    threshold: {op: "<", value: 100, unit: ms}
    mandatory: true
    suite: performance
  - id: security.auth_enforced
    title: Authentication enforced
    requirement: Every protected method rejects calls without a valid credential.
    mandatory: true
    suite: security
  - id: contract.conformance
    title: API contract conformance
    requirement: Every documented method returns results valid against the contract schema.
    mandatory: true
    suite: contract
  - id: ops.deploy
    title: Automated deployment completes
    requirement: The release installs on a clean device with the documented command.
    threshold: {op: "<=", value: 600, unit: s}
    mandatory: true
    suite: deployment
  - id: ops.documentation
    title: Operational documentation validated
    requirement: Every command in the operations runbook runs as documented on the device.
    mandatory: true
    suite: documentation
"""
WAIVERS = ("waivers:\n  - {criterion: ops.documentation, reason: runbook rewrite lands next sprint, owner: ops-team, "
           "expires: 2099-01-01, ticket: OPS-77}\n")
TRACE = {"ops.rollback_time": ["REQ-12", "CDR-4.3"], "perf.p95_ms": ["REQ-31"]}
TARGETS = ("vdev-a", "vdev-b")


def _record(bundle: Bundle) -> dict[str, list]:
    """Evidence on two targets: one FAIL per kind (measurement, check with an exchange, check with a
    transcript), repeats, a NOT VERIFIED gap, a waived gap and a long table."""
    a = bundle.recorder(test="suites/rollback/test_rollback.py::test_rollback[vdev-a]", suite="rollback", target_name="vdev-a")
    b = bundle.recorder(test="suites/rollback/test_rollback.py::test_rollback[vdev-b]", suite="rollback", target_name="vdev-b")
    seqs: dict[str, list] = {}
    runs_a, runs_b = [11.0, 12.4, 11.8], [35.0, 412.5, 40.2]
    seqs["rollback"] = [
        a.measure("ops.rollback_time", "worst rollback time of 3", max(runs_a), unit="s",
                  series={"name": "rollback time per run", "unit": "s", "values": runs_a}).seq,
        b.measure("ops.rollback_time", "worst rollback time of 3", max(runs_b), unit="s",
                  artifacts=[b.artifact("rollback-runs.json", '{"runs": [35.0, 412.5, 40.2]}\n')],
                  series={"name": "rollback time per run", "unit": "s", "values": runs_b}).seq,
    ]
    perf = bundle.recorder(test="suites/performance/test_load.py::test_p95[vdev-a]", suite="performance", target_name="vdev-a")
    seqs["p95"] = [perf.measure("perf.p95_ms", f"p95 latency, run {i}", v, unit="ms",
                                series={"unit": "ms", "values": [v * 0.5, v, v * 0.7], "label": f"run {i}"}).seq
                   for i, v in enumerate((40.0, 85.0, 61.0), start=1)]
    rows = [[f"method.{i}", "refused", "refused", "PASS"] for i in range(20)]
    sec = bundle.recorder(test="suites/security/test_security.py::test_auth[vdev-a]", suite="security", target_name="vdev-a")
    seqs["auth"] = [sec.check("security.auth_enforced", "protected methods refuse missing credentials", True,
                              details={"table": {"title": "auth matrix", "columns": ["method", "expected", "observed", "verdict"],
                                                 "rows": rows}}).seq]
    con = bundle.recorder(test="suites/contract/test_conformance.py::test_methods[vdev-a]", suite="contract", target_name="vdev-a")
    exchange = {"url": "ws://127.0.0.1:8002/ws", "outcome": "reply",
                "sent": '{"jsonrpc": "2.0", "id": 7, "method": "get_camera_list", "params": {}}',
                "received": ['{"jsonrpc": "2.0", "id": 7, "result": {"cameras": "not-a-list"}}']}
    transcript = con.artifact("take_snapshot.txt", ">>> take_snapshot {}\n<<< {\"error\": {\"code\": -32000}}\n")
    seqs["conformance"] = [
        con.check("contract.conformance", "get_camera_list result matches its schema", False,
                  expected="result.cameras is an array", observed="a string", details={"exchanges": [exchange]}).seq,
        con.check("contract.conformance", "take_snapshot answers with a documented error", False,
                  expected="documented code", observed=-32000, artifacts=[transcript]).seq,
    ]
    dep = bundle.recorder(test="suites/deployment/test_deploy.py::test_install[vdev-b]", suite="deployment", target_name="vdev-b")
    seqs["deploy"] = [dep.gap("ops.deploy", "target unreachable: vdev-b did not answer SSH within 60 s").seq]
    doc = bundle.recorder(test="suites/documentation/test_runbook.py::test_runbook[vdev-a]", suite="documentation",
                          target_name="vdev-a")
    seqs["docs"] = [doc.gap("ops.documentation", "the runbook has no procedure named rollback").seq]
    return seqs


def _per_target(records, gates, waivers) -> dict[str, dict]:
    """Per-target entries as the spine writes them: each target decided on its own records."""
    out: dict[str, dict] = {}
    for target in TARGETS:
        own = [r for r in records if r.target == target]
        for cid, entry in derive(own, gates, waivers, RUN_DATE)["criteria"].items():
            if entry["evidence"]:
                out.setdefault(cid, {})[target] = {"verdict": entry["verdict"], "reason": entry["reason"],
                                                   "evidence": entry["evidence"], "binding": None, "repeats": None}
    return out


def format2(bundle: Bundle, seqs: dict[str, list]) -> dict:
    """verdicts.json format 2 for the reference bundle, written by hand from the records."""
    records, gates, waivers = bundle.records(), bundle.gates, bundle.waivers()
    verdicts = derive(records, gates, waivers, RUN_DATE)
    per_target = _per_target(records, gates, waivers)
    for cid, entry in verdicts["criteria"].items():
        entry.update(trace=TRACE.get(cid, []), binding=None, repeats=None, findings=[], targets=per_target.get(cid, {}))
    rollback = verdicts["criteria"]["ops.rollback_time"]
    rollback["binding"] = seqs["rollback"][1]
    rollback["targets"]["vdev-a"].update(binding=seqs["rollback"][0], repeats={
        "name": "rollback time per run", "n": 3, "min": 11.0, "median": 11.8, "max": 12.4, "unit": "s"})
    rollback["targets"]["vdev-b"].update(binding=seqs["rollback"][1], repeats={
        "name": "rollback time per run", "n": 3, "min": 35.0, "median": 40.2, "max": 412.5, "unit": "s"})
    rollback["repeats"] = rollback["targets"]["vdev-b"]["repeats"]
    rollback["findings"] = [{"kind": "outlier", "text": "run 2 on vdev-b took 10 times the median of its runs.",
                             "records": [seqs["rollback"][1]]}]
    p95 = verdicts["criteria"]["perf.p95_ms"]
    p95.update(binding=seqs["p95"][1], repeats={"name": "p95 latency", "n": 3, "min": 40.0, "median": 61.0,
                                                 "max": 85.0, "unit": "ms"})
    p95["findings"] = [{"kind": "journal", "text": "record 2 was appended 40 s after its test ended.", "records": [seqs["p95"][1]]}]
    verdicts["criteria"]["contract.conformance"]["binding"] = seqs["conformance"][0]
    verdicts.update(format=2, targets=list(TARGETS),
                    integrity={"status": "verified", "problems": []},
                    selection={"command": "ivv gate --gate review-demo -- -k 'not soak'",
                               "deselected": [{"test": "suites/performance/test_soak.py::test_memory_growth[vdev-a]",
                                               "criteria": ["perf.memory_growth"]}]})
    return verdicts


def reference_bundle(tmp_path: Path, run_id: str = "review-ref") -> tuple[Path, dict, dict]:
    """(bundle path, format-2 verdicts, record seqs by part) of the reference bundle, rendered."""
    gate_file = tmp_path / "review-demo.yaml"
    gate_file.write_text(GATE)
    waiver_file = tmp_path / "waivers.yaml"
    waiver_file.write_text(WAIVERS)
    bundle = Bundle.create(tmp_path / "reports", run_id, gates=GateSet([load_gate(gate_file)]), waiver_files=[waiver_file])
    bundle.update_manifest("targets", {t: {"model": "QEMU virtual device", "cores": 2} for t in TARGETS})
    bundle.set_manifest("stack", {"name": "camera-service", "version": "2.1.0"})
    seqs = _record(bundle)
    bundle.finish()
    loaded = Bundle.load(bundle.path)
    verdicts = format2(loaded, seqs)
    write_reports(loaded, verdicts)
    return bundle.path, verdicts, seqs


# -- a real run, Chromium and poppler -------------------------------------------------------------------
DEMO = Path(__file__).resolve().parent / "demo"


def demo_run(tmp_path: Path, run_id: str = "shot") -> Path:
    """The bundle of a real pytest run of the demonstration suite (tests/demo, no device), latency forced
    to FAIL; its reports are rendered by the plugin at session end, as in a gate run."""
    suite = tmp_path / "suite"
    suite.mkdir()
    shutil.copyfile(DEMO / "demo_suite.py", suite / "demo_suite.py")  # outside the repo: no root conftest
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "demo_suite.py",
         "--ivv-gate", str(DEMO / "demo-gate-strict.yaml"), "--ivv-reports", str(tmp_path / "reports"),
         "--ivv-run-id", run_id],
        cwd=suite, capture_output=True, text=True, timeout=120, env=dict(os.environ))
    bundle = tmp_path / "reports" / run_id
    assert (bundle / "gate-review.html").exists(), result.stdout + result.stderr
    return bundle


def have(*tools: str) -> bool:
    return all(shutil.which(t) for t in tools)


def pdf_pages(pdf: Path) -> list[str]:
    """The text of each page (pdftotext separates pages with form feeds)."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True,
                          timeout=60).stdout
    pages = text.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def pdf_page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True, timeout=60).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
