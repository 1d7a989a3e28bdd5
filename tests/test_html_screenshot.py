"""The HTML report, opened from a file with no network in headless Chromium (driven over CDP): at 1280 px
and at the printed A4 width nothing overflows sideways, the summary and the grid are above the fold,
every criterion has its section, the verdict filter hides what was not asked for, and the HOLD banner
shows. Checked on a real pytest run and on the reference bundle (several targets, waivers, NOT VERIFIED)."""

import io
import json

import pytest
import report_support

from ivv.report.pdf import PRINT_WIDTH_PX, Browser

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not report_support.have("chromium"),
                                                   reason="chromium is not installed (make test installs it as root)")]
FOLD = 900
LAYOUT = """JSON.stringify({
  scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,
  summary: document.getElementById('summary').getBoundingClientRect().bottom,
  gridTop: document.getElementById('criteria-table').getBoundingClientRect().top,
  gridBottom: document.getElementById('criteria-table').getBoundingClientRect().bottom,
  firstSection: document.querySelector('section.criterion').getBoundingClientRect().top,
  plots: [...document.querySelectorAll('figure.plot svg')].filter(s => s.getBoundingClientRect().width > 200).length,
  decision: document.getElementById('decision').textContent,
  sections: [...document.querySelectorAll('section.criterion')].filter(s => s.offsetHeight > 0).map(s => s.id)})"""
VISIBLE = """JSON.stringify([...document.querySelectorAll('[data-verdict]')].filter(e => e.offsetHeight > 0)
  .map(e => e.id))"""


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    return report_support.demo_run(tmp_path_factory.mktemp("demo-run"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return report_support.reference_bundle(tmp_path_factory.mktemp("reference"))


@pytest.fixture(scope="module")
def browser():
    with Browser() as chromium:
        yield chromium


def _layout(browser, page, width=1280, media=None):
    session = browser.open(page.as_uri(), width, FOLD, media=media)
    return session, json.loads(browser.evaluate(session, LAYOUT))


def test_real_run_fits_1280_with_summary_and_grid_above_the_fold(real_run, browser):
    verdicts = json.loads((real_run / "verdicts.json").read_text())
    session, layout = _layout(browser, real_run / "gate-review.html")
    assert layout["scroll"] <= layout["client"], layout
    assert layout["summary"] <= layout["gridTop"] < layout["gridBottom"] <= FOLD, layout
    assert layout["firstSection"] >= layout["gridBottom"], layout
    assert "Decision: HOLD." in layout["decision"] and layout["plots"] >= 1, layout  # injected fault: latency FAIL
    assert sorted(layout["sections"]) == sorted(f"crit-{cid}" for cid in verdicts["criteria"]), layout
    from matplotlib import image

    pixels = image.imread(io.BytesIO(browser.screenshot(session)), format="png")[:, :, :3]
    assert pixels.shape[0] == FOLD and pixels.shape[1] == 1280
    flat = (pixels * 255).round().astype(int).reshape(-1, 3)
    hold_banner = ((flat[:, 0] == 0xFB) & (flat[:, 1] == 0xDC) & (flat[:, 2] == 0xDC)).sum()
    assert hold_banner > 5000, "the red HOLD banner is not visible"  # injected fault: latency FAIL
    assert len({tuple(p) for p in flat[::50]}) > 20, "the page rendered blank"


def test_reference_bundle_fits_1280_and_the_printed_width(reference, browser):
    path, verdicts, _ = reference
    for width, media in ((1280, None), (PRINT_WIDTH_PX, "print")):
        _, layout = _layout(browser, path / "gate-review.html", width, media)
        assert layout["scroll"] <= layout["client"], (width, layout)
        assert sorted(layout["sections"]) == sorted(f"crit-{cid}" for cid in verdicts["criteria"]), layout
    _, layout = _layout(browser, path / "gate-review.html")
    assert layout["summary"] <= layout["gridTop"] < layout["gridBottom"] <= FOLD, layout


def test_overflow_check_sees_a_page_that_is_too_wide(reference, browser):
    """Positive control for the width checks: one over-long unbreakable line makes the page scroll sideways."""
    path, _, _ = reference
    session, _ = _layout(browser, path / "gate-review.html")
    browser.evaluate(session, "document.body.insertAdjacentHTML('beforeend', "
                              "'<pre style=\"white-space: pre; background: none; border: 0\">' + 'x'.repeat(400) + '</pre>')")
    layout = json.loads(browser.evaluate(session, LAYOUT))
    assert layout["scroll"] > layout["client"], layout


def test_verdict_filter_shows_only_the_chosen_verdict(reference, browser):
    path, verdicts, _ = reference
    session, _ = _layout(browser, path / "gate-review.html")
    everything = json.loads(browser.evaluate(session, VISIBLE))
    assert len(everything) == 2 * len(verdicts["criteria"])  # a grid row and a section each
    for button, verdict in (("FAIL", "FAIL"), ("NOT-VERIFIED", "NOT VERIFIED"), ("WAIVED", "WAIVED")):
        browser.evaluate(session, f"document.querySelector('[data-filter=\"{button}\"]').click()")
        shown = json.loads(browser.evaluate(session, VISIBLE))
        wanted = [cid for cid, e in verdicts["criteria"].items() if e["verdict"] == verdict]
        assert sorted(shown) == sorted([f"c-{c}" for c in wanted] + [f"crit-{c}" for c in wanted]), (button, shown)
    browser.evaluate(session, "document.querySelector('[data-filter=\"attention\"]').click()")
    shown = json.loads(browser.evaluate(session, VISIBLE))
    assert not any(s.endswith(("perf.p95_ms", "security.auth_enforced")) for s in shown) and len(shown) == 8
    browser.evaluate(session, "document.querySelector('[data-filter=\"all\"]').click()")
    assert json.loads(browser.evaluate(session, VISIBLE)) == everything


def test_a_link_into_a_collapsed_table_opens_it(reference, browser):
    path, _, seqs = reference
    session, _ = _layout(browser, path / "gate-review.html")
    table = f"table-{seqs['auth'][0]}-1"
    is_open = f"document.getElementById('{table}').closest('details').open"
    assert browser.evaluate(session, is_open) is False
    browser.evaluate(session, f"location.hash = '{table}'")
    assert browser.evaluate(session, is_open) is True
