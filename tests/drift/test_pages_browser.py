"""A reviewer reads drift in a real browser: the overview's chart draws under the strict CSP, and a
feature's data paths show the undeclared path.

The browser fixtures of tests/browser/conftest.py are visible to that folder only, and Playwright's sync
API allows one instance per thread, so while that folder's session-wide Chromium is open a second one
cannot start on this thread. These tests therefore drive a Chromium of their own on a worker thread, with
the same executable, launch arguments and console-error capture (taken from that conftest).
"""

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from governance.drift.evaluate import evaluate_drift
from tests.browser import conftest as browser
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAINTED_PIXELS = """() => {
  const canvas = document.getElementById("drift-chart");
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) painted++; }
  return {painted, chart: Boolean(window.Chart && window.Chart.getChart(canvas)), width: canvas.width};
}"""


@pytest.fixture
def in_browser(live_server):
    """Run `visit(page)` in headless Chromium against the live server; returns (its result, console errors)."""
    if os.environ.get("SKIP_BROWSER_TESTS") == "1":
        pytest.skip("SKIP_BROWSER_TESTS=1: browser tests are switched off")
    if not browser.CHROMIUM.exists():
        pytest.fail(f"{browser.CHROMIUM} not found: see tests/browser/conftest.py.", pytrace=False)

    def run(visit: Callable[[Page], object]):
        errors: list[str] = []
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(browser.CHROMIUM), args=browser.CHROMIUM_ARGS)
            try:
                context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
                context.set_default_timeout(10_000)
                page = context.new_page()
                page.on("console", lambda message: browser._record_console_error(errors, message))
                page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
                return visit(page), errors
            finally:
                chromium.close()

    def in_browser(visit: Callable[[Page], object]):
        with ThreadPoolExecutor(max_workers=1) as worker:
            return worker.submit(run, visit).result()

    return in_browser


@pytest.fixture
def artefacts():
    """Where screenshots go (git-ignored), as for the other browser tests."""
    browser.ARTEFACTS.mkdir(exist_ok=True)
    return browser.ARTEFACTS


def log_in(page: Page, username: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")


def test_the_drift_overview_draws_its_chart_without_csp_violations(
    in_browser, artefacts, reviewer, approve_feature, observe_edge
):
    approve_feature()
    observe_edge(signal="locale", count=300)
    observe_edge(signal="language", count=40, days_ago=3)
    evaluate_drift(None)

    def visit(page: Page):
        log_in(page, reviewer.username)
        page.click("nav >> text=Drift")
        expect(page.locator("h1")).to_have_text("Drift")
        page.wait_for_function("() => window.Chart && window.Chart.getChart(document.getElementById('drift-chart'))")
        expect(page.locator("#newest")).to_contain_text("undeclared-signal")
        page.screenshot(path=artefacts / "drift-overview.png", full_page=True)
        return page.evaluate(PAINTED_PIXELS)

    drawn, console_errors = in_browser(visit)

    assert drawn["chart"] and drawn["width"] > 0
    assert drawn["painted"] > 1000, drawn
    assert console_errors == []


def test_a_reviewer_reads_a_feature_s_data_paths(in_browser, artefacts, reviewer, approve_feature, observe_edge):
    approve_feature()
    observe_edge(signal="locale", count=300)
    observe_edge(signal="locale", destination="response", count=120)
    observe_edge(signal="language", destination="partner-exchange", count=40)
    evaluate_drift(None)

    def visit(page: Page):
        log_in(page, reviewer.username)
        page.goto("/features/reco-locale/")
        page.click("text=Data paths")
        expect(page.locator("td.path-undeclared")).to_have_count(1)
        expect(page.locator("td.path-undeclared")).to_contain_text("40 observed")
        expect(page.locator("#drift-findings")).to_contain_text("undeclared-signal")
        expect(page.locator("#top-response")).to_contain_text("locale")
        page.screenshot(path=artefacts / "drift-data-paths.png", full_page=True)

    _, console_errors = in_browser(visit)

    assert console_errors == []
