"""A reviewer reads drift in a real browser: the overview's chart draws under the strict CSP, and a
feature's data paths show the undeclared path.
"""

import pytest
from playwright.sync_api import expect

from governance.drift.evaluate import evaluate_drift
from tests.browser_fixtures import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAINTED_PIXELS = """() => {
  const canvas = document.getElementById("drift-chart");
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) painted++; }
  return {painted, chart: Boolean(window.Chart && window.Chart.getChart(canvas)), width: canvas.width};
}"""


def test_the_drift_overview_draws_its_chart_without_csp_violations(
    browser_page, console_errors, artefacts, reviewer, approve_feature, observe_edge
):
    approve_feature()
    observe_edge(signal="locale", count=300)
    observe_edge(signal="language", count=40, days_ago=3)
    evaluate_drift(None)

    page = browser_page
    log_in(page, reviewer.username)
    page.click("nav >> text=Drift")
    expect(page.locator("h1")).to_have_text("Drift")
    page.wait_for_function("() => window.Chart && window.Chart.getChart(document.getElementById('drift-chart'))")
    expect(page.locator("#newest")).to_contain_text("undeclared-signal")
    page.screenshot(path=artefacts / "drift-overview.png", full_page=True)
    drawn = page.evaluate(PAINTED_PIXELS)

    assert drawn["chart"] and drawn["width"] > 0
    assert drawn["painted"] > 1000, drawn
    assert console_errors == []


def test_a_reviewer_reads_a_feature_s_data_paths(
    browser_page, console_errors, artefacts, reviewer, approve_feature, observe_edge
):
    approve_feature()
    observe_edge(signal="locale", count=300)
    observe_edge(signal="locale", destination="response", count=120)
    observe_edge(signal="language", destination="partner-exchange", count=40)
    evaluate_drift(None)

    page = browser_page
    log_in(page, reviewer.username)
    page.goto("/features/reco-locale/")
    page.click("text=Data paths")
    expect(page.locator("td.path-undeclared")).to_have_count(1)
    expect(page.locator("td.path-undeclared")).to_contain_text("40 observed")
    expect(page.locator("#drift-findings")).to_contain_text("undeclared-signal")
    expect(page.locator("#top-response")).to_contain_text("locale")
    page.screenshot(path=artefacts / "drift-data-paths.png", full_page=True)

    assert console_errors == []
