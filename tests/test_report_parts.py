"""The report's parts from verdicts in the format-2 shape (tests/report_support.py): the binding value in
the grid, per-target rows, repeats, findings, trace ids, the exchange behind a FAIL, the reason for a
NOT VERIFIED, waivers, integrity and selection; Markdown and HTML agree, and older verdicts still render."""

import copy
import html
import json
import re

import pytest
import report_support

from ivv.evidence.bundle import Bundle
from ivv.report.render import write_reports


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    path, verdicts, seqs = report_support.reference_bundle(tmp_path_factory.mktemp("ref"))
    return {"path": path, "verdicts": verdicts, "seqs": seqs, "md": (path / "gate-review.md").read_text(),
            "html": (path / "gate-review.html").read_text()}


def _rerender(reference, verdicts, tmp_path):
    """Render other verdicts for the same bundle into a copy, so the module's reference stays as it is."""
    import shutil
    copy_dir = tmp_path / "copy"
    shutil.copytree(reference["path"], copy_dir)
    paths = write_reports(Bundle.load(copy_dir), verdicts)
    return paths["markdown"].read_text(), paths["html"].read_text()


def _grid_row(page: str, cid: str) -> str:
    return re.search(rf'<tr id="c-{re.escape(cid)}".*?</tr>', page, re.S).group(0)


def _md_grid_row(markdown: str, cid: str) -> str:
    return next(line for line in markdown.splitlines() if line.startswith(f"| [`{cid}`]"))


def test_summary_gives_decision_reason_counts_before_the_grid(reference):
    page = reference["html"]
    assert page.index('id="decision"') < page.index('id="counts"') < page.index('id="criteria-table"')
    assert "Decision: HOLD." in page and "3 of 6 mandatory criteria are not met" in page
    assert re.search(r"FAIL</span> <strong>2</strong>", page) and re.search(r"WAIVED</span> <strong>1</strong>", page)
    assert "2 findings to look at" in page and "evidence hash chain verified" in page
    assert "1 test was deselected" in page and "suites/performance/test_soak.py::test_memory_growth[vdev-a]" in page
    assert reference["md"].startswith("# Gate review: HOLD\n\n**Decision: HOLD.** 3 of 6 mandatory")


def test_grid_shows_the_binding_value_not_the_last_record(reference):
    """perf.p95_ms has three runs: 40, 85, 61 ms. The binding (worst) one is 85 ms, the last one 61 ms."""
    row = _grid_row(reference["html"], "perf.p95_ms")
    assert "<strong>85 ms</strong>" in row and "61 ms" not in row and "p95 latency, run 2" in row
    assert "**85 ms** (p95 latency, run 2)" in _md_grid_row(reference["md"], "perf.p95_ms")


def test_grid_has_no_line_number_lists_and_names_evidence_in_sections(reference):
    page = reference["html"]
    grid = page[page.index('id="criteria-table"'):page.index("</table>", page.index('id="criteria-table"'))]
    assert 'href="#ev-' not in grid
    section = page[page.index('id="crit-perf.p95_ms"'):page.index('id="crit-security.auth_enforced"')]
    for seq, name in zip(reference["seqs"]["p95"], ("p95 latency, run 1", "p95 latency, run 2", "p95 latency, run 3"), strict=True):
        assert re.search(rf'<tr id="ev-{seq}"[^>]*><td>{seq}</td><td>{re.escape(name)}', section), name


def test_format_1_verdicts_fall_back_to_the_worst_measurement(reference, tmp_path):
    """Without `binding` (older verdicts) the report picks the worst measurement against the threshold."""
    old = copy.deepcopy(reference["verdicts"])
    for entry in old["criteria"].values():
        for key in ("binding", "repeats", "targets", "findings", "trace"):
            entry.pop(key)
    for key in ("format", "targets", "integrity", "selection"):
        old.pop(key)
    markdown, page = _rerender(reference, old, tmp_path)
    assert "**85 ms** (p95 latency, run 2)" in _md_grid_row(markdown, "perf.p95_ms")
    assert "**412.5 s** (worst rollback time of 3)" in _md_grid_row(markdown, "ops.rollback_time")
    assert "Findings (not verdicts)" not in page and "hash chain" not in page and "deselected" not in page


def test_several_targets_waivers_and_not_verified_render_all_three_parts(reference):
    page, markdown = reference["html"], reference["md"]
    row = _grid_row(page, "ops.rollback_time")
    assert "vdev-a" in row and "vdev-b" in row and "12.4 s" in row and "412.5 s" in row
    assert re.search(r"vdev-a: <span class=\"v v-PASS\">.*vdev-b: <span class=\"v v-FAIL\">", row, re.S)
    assert "| **FAIL** (vdev-a PASS, vdev-b FAIL) |" in _md_grid_row(markdown, "ops.rollback_time")
    section = page[page.index('id="crit-ops.rollback_time"'):page.index('id="crit-perf.p95_ms"')]
    assert section.count('<tr data-target="') == 2
    assert "n = 3, min 11 s, median 11.8 s, max 12.4 s" in section and "n = 3, min 35 s, median 40.2 s, max 412.5 s" in section
    waived = page[page.index('id="crit-ops.documentation"'):page.index('id="waivers"')]
    assert "ops-team" in waived and "OPS-77" in waived and 'data-verdict="WAIVED"' in waived
    assert "| applied (NOT VERIFIED waived) |" in markdown
    unverified = page[page.index('id="crit-ops.deploy"'):page.index('id="crit-ops.documentation"')]
    assert "Why it is NOT VERIFIED:</strong> target unreachable: vdev-b did not answer SSH within 60 s." in unverified
    assert "**Why it is NOT VERIFIED:** target unreachable: vdev-b did not answer SSH within 60 s." in markdown


def test_fail_sections_show_the_exact_exchange_and_the_transcript(reference):
    page, markdown = reference["html"], reference["md"]
    section = page[page.index('id="crit-contract.conformance"'):page.index('id="crit-ops.deploy"')]
    assert "&gt;&gt;&gt; {&#34;jsonrpc&#34;: &#34;2.0&#34;, &#34;id&#34;: 7, &#34;method&#34;: &#34;get_camera_list&#34;" in section
    assert "&lt;&lt;&lt; {&#34;jsonrpc&#34;: &#34;2.0&#34;, &#34;id&#34;: 7, &#34;result&#34;: {&#34;cameras&#34;: &#34;not-a-list&#34;}}" in section
    assert "take_snapshot.txt" in section and "&lt;&lt;&lt; {&#34;error&#34;: {&#34;code&#34;: -32000}}" in section
    assert '<<< {"jsonrpc": "2.0", "id": 7, "result": {"cameras": "not-a-list"}}' in markdown
    passing = page[page.index('id="crit-perf.p95_ms"'):page.index('id="crit-security.auth_enforced"')]
    assert "Behind the FAIL" not in passing


def test_findings_are_marked_as_not_verdicts(reference):
    page = reference["html"]
    section = page[page.index('id="crit-ops.rollback_time"'):page.index('id="crit-perf.p95_ms"')]
    assert "Findings (not verdicts)" in section and '<span class="finding-kind">outlier</span>' in section
    assert "run 2 on vdev-b took 10 times the median of its runs." in section
    assert "*journal*: record 2 was appended 40 s after its test ended." in reference["md"]


def test_trace_ids_appear_in_the_grid_and_the_section(reference):
    page, markdown = reference["html"], reference["md"]
    assert '<div class="trace">REQ-12, CDR-4.3</div>' in _grid_row(page, "ops.rollback_time")
    section = page[page.index('id="crit-ops.rollback_time"'):page.index('id="crit-perf.p95_ms"')]
    assert 'answers <span class="trace">REQ-12, CDR-4.3</span>' in section
    assert "(REQ-12, CDR-4.3)" in _md_grid_row(markdown, "ops.rollback_time") and "answers REQ-12, CDR-4.3." in markdown


def test_artifacts_are_listed_with_sizes_and_long_tables_collapse(reference):
    page = reference["html"]
    assert re.search(r'rollback-runs\.json</a> <span class="small">30 B, sha256 <code', page)
    auth = page[page.index('id="crit-security.auth_enforced"'):page.index('id="crit-contract.conformance"')]
    assert '<details class="long"><summary>auth matrix (record 6) (20 rows)</summary>' in auth


def test_markdown_and_html_give_the_same_order_and_binding_values(reference):
    page, markdown = reference["html"], reference["md"]
    ids = list(reference["verdicts"]["criteria"])
    assert re.findall(r'<tr id="c-([^"]+)"', page) == ids
    assert re.findall(r'<section class="criterion" id="crit-([^"]+)"', page) == ids
    assert re.findall(r'^\| \[`([^`]+)`\]', markdown, re.M) == ids
    assert re.findall(r'^### <a id="crit-([^"]+)"></a>', markdown, re.M) == ids
    for cid in ids:
        html_value = re.search(r"<strong>([^<]+)</strong>", _grid_row(page, cid).split("</td>", 3)[3])
        if html_value:
            assert f"**{html.unescape(html_value.group(1))}**" in _md_grid_row(markdown, cid), cid


def test_integrity_problems_are_shown_above_the_grid(reference, tmp_path):
    altered = copy.deepcopy(reference["verdicts"])
    altered["integrity"] = {"status": "altered", "problems": ["line 4 does not chain to line 3"]}
    markdown, page = _rerender(reference, altered, tmp_path)
    assert page.index('<div class="warn" id="integrity"><strong>Evidence integrity: altered.</strong>') < \
        page.index('id="criteria-table"')
    assert "line 4 does not chain to line 3" in page and "Evidence integrity: **altered**." in markdown


def test_rendering_the_same_verdicts_twice_gives_the_same_bytes(reference, tmp_path):
    markdown, page = _rerender(reference, json.loads(json.dumps(reference["verdicts"])), tmp_path)
    assert markdown == reference["md"] and page == reference["html"]
