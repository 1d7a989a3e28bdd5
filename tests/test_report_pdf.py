"""gate-review.pdf for the review pack: `ivv report BUNDLE --pdf` and the gate setting `report.pdf: true`
print the HTML with headless Chromium; every page carries its number, the run id and the evidence sha256,
every criterion starts a page of its own, and a missing Chromium is a PrerequisiteError naming the package."""

import re

import pytest
import report_support

from ivv import cli
from ivv.config.gates import GateSet, load_gate
from ivv.errors import PrerequisiteError
from ivv.evidence.bundle import EVIDENCE, Bundle, sha256_file
from ivv.report import pdf
from ivv.report.render import render_bundle, write_pdf


def needs_renderer(test):
    test = pytest.mark.skipif(not report_support.have("chromium", "pdftotext", "pdfinfo"),
                              reason="chromium and poppler-utils are not installed (make test installs them as root)")(test)
    return pytest.mark.slow(test)


def _check_pages(bundle, criteria) -> int:
    """Page count, page numbers, run id and evidence sha256 on every page; every criterion starts a page."""
    path = bundle / "gate-review.pdf"
    pages = report_support.pdf_pages(path)
    count = report_support.pdf_page_count(path)
    assert len(pages) == count >= len(criteria) + 1, (len(pages), count)
    sha = sha256_file(bundle / EVIDENCE)
    run_id = Bundle.load(bundle).manifest["run_id"]
    for number, text in enumerate(pages, start=1):
        flat = " ".join(text.split())
        assert sha in flat, f"page {number} lacks the evidence sha256"
        assert f"run {run_id}" in flat and f"page {number} of {count}" in flat, number
    first_lines = [next((line for line in text.splitlines() if line.strip()), "") for text in pages]
    for cid in criteria:
        assert any(re.search(rf"(?<![\w.]){re.escape(cid)}(?![\w.])", line) for line in first_lines), \
            f"{cid} does not start a page"
    return count


@needs_renderer
def test_reference_bundle_prints_one_page_per_criterion_with_the_footer_on_every_page(tmp_path):
    path, verdicts, _ = report_support.reference_bundle(tmp_path)
    write_pdf(path)
    text = " ".join(" ".join(report_support.pdf_pages(path / "gate-review.pdf")).split())
    for needle in ("Decision: HOLD.", "REQ-12, CDR-4.3", "Findings (not verdicts)", "ops-team",
                   "target unreachable: vdev-b did not answer SSH within 60 s", "method.19"):  # collapsed rows print
        assert needle in text, needle
    _check_pages(path, list(verdicts["criteria"]))


@needs_renderer
def test_ivv_report_pdf_on_a_real_run(tmp_path, capsys):
    bundle = report_support.demo_run(tmp_path, run_id="pdf-run")
    assert not (bundle / "gate-review.pdf").exists()
    assert cli.main(["report", str(bundle), "--pdf"]) == 0
    assert f"pdf: {bundle / 'gate-review.pdf'}" in capsys.readouterr().out
    verdicts = render_bundle(bundle)[0]
    _check_pages(bundle, list(verdicts["criteria"]))


@needs_renderer
def test_gate_setting_report_pdf_makes_the_pdf_at_every_render(tmp_path):
    gate_file = tmp_path / "gate.yaml"
    gate_file.write_text(report_support.DEMO.joinpath("demo-gate.yaml").read_text().replace(
        "settings:\n", "settings:\n  report:\n    pdf: true\n"))
    bundle = Bundle.create(tmp_path / "reports", "with-pdf", gates=GateSet([load_gate(gate_file)]))
    bundle.recorder(test="t::a", suite="demo").measure("demo.latency", "worst sleep", 3.0, unit="ms")
    bundle.finish()
    _, paths = render_bundle(bundle.path)
    assert paths["pdf"] == bundle.path / "gate-review.pdf" and paths["pdf"].stat().st_size > 1000
    _check_pages(bundle.path, ["demo.latency", "demo.file_roundtrip", "demo.skipped", "demo.untested"])


def test_without_the_setting_no_pdf_is_made(tmp_path):
    path, _, _ = report_support.reference_bundle(tmp_path)
    assert not (path / "gate-review.pdf").exists()


def test_a_missing_chromium_is_a_prerequisite_error_naming_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv("IVV_CHROMIUM", str(tmp_path / "no-such-chromium"))
    with pytest.raises(PrerequisiteError, match="Debian package chromium"):
        pdf.chromium_binary()
    monkeypatch.delenv("IVV_CHROMIUM")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PrerequisiteError, match="no chromium on PATH.*Debian package chromium"):
        pdf.Browser()
    path, _, _ = report_support.reference_bundle(tmp_path)
    assert cli.main(["report", str(path), "--pdf"]) == 2
