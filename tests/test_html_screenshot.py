"""The HTML report opens from a file with no network in headless Chromium and shows the criteria table."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parent / "demo"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test installs it as root)")]


@pytest.fixture
def report_page(tmp_path):
    """The gate-review page of a small demonstration run (tests/demo, no device)."""
    suite = tmp_path / "suite"
    suite.mkdir()
    shutil.copyfile(DEMO / "demo_suite.py", suite / "demo_suite.py")  # outside the repo: no root conftest
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "demo_suite.py",
         "--ivv-gate", str(DEMO / "demo-gate-strict.yaml"), "--ivv-reports", str(tmp_path / "reports"),
         "--ivv-run-id", "shot"],
        cwd=suite, capture_output=True, text=True, timeout=120, env=dict(os.environ))
    page = tmp_path / "reports" / "shot" / "gate-review.html"
    assert page.exists(), result.stdout + result.stderr
    return page


def _chromium(args, tmp_path):
    profile = tmp_path / "chromium-profile"
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=90)


def test_screenshot_shows_the_decision_banner_and_criteria_table(report_page, tmp_path):
    dom = _chromium(["--dump-dom", report_page.as_uri()], tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'id="criteria-table"' in dom.stdout
    assert dom.stdout.count('<tr id="c-') >= 4 and 'id="c-demo.latency"' in dom.stdout
    assert "Decision: HOLD." in dom.stdout and "<svg" in dom.stdout  # injected fault: latency FAIL
    shot = tmp_path / "gate-review.png"
    result = _chromium(["--window-size=1280,900", f"--screenshot={shot}", report_page.as_uri()], tmp_path)
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    from matplotlib import image

    pixels = image.imread(shot)[:, :, :3]
    assert pixels.shape[0] >= 800 and pixels.shape[1] >= 1200
    flat = (pixels * 255).round().astype(int).reshape(-1, 3)
    hold_banner = ((flat[:, 0] == 0xFB) & (flat[:, 1] == 0xDC) & (flat[:, 2] == 0xDC)).sum()
    assert hold_banner > 5000, "the red HOLD banner is not visible"
    assert len({tuple(p) for p in flat[::50]}) > 20, "the page rendered blank"
