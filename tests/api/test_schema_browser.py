"""Swagger UI and ReDoc render the API's operations in headless Chromium, under the strict CSP, with no
console error (a CSP violation is one).

Like tests/drift/test_pages_browser.py, these tests drive a Chromium of their own on a worker thread
(Playwright's sync API allows one instance per thread, and tests/browser may hold one), with the launch
arguments and console-error capture of tests/browser/conftest.py.
"""

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.browser import conftest as browser
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A few operations of each app, as the pages name them.
OPERATIONS = ["/api/v1/reviews/queue", "/api/v1/evidence/packs", "/api/v1/audit/verification"]
RENDER_MS = 20_000  # both render the whole schema in the browser: slow on a busy 2-core machine


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
                context.set_default_timeout(RENDER_MS)
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
    browser.ARTEFACTS.mkdir(exist_ok=True)
    return browser.ARTEFACTS


def log_in(page: Page, username: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")


def elsewhere(page: Page, live_server_url: str) -> list[str]:
    """Collects the requests the page makes to anywhere but the app (no CDN: the list must stay empty)."""
    requests: list[str] = []
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith((live_server_url, "data:", "blob:")) else requests.append(request.url)
        ),
    )
    return requests


def test_swagger_ui_lists_the_operations(in_browser, artefacts, auditor, live_server):
    def visit(page: Page):
        third_party = elsewhere(page, live_server.url)
        log_in(page, auditor.username)
        page.goto("/api/v1/docs")
        for path in OPERATIONS:
            expect(page.locator(f".opblock-summary-path[data-path='{path}']").first).to_be_visible(timeout=RENDER_MS)
        page.locator(".opblock-summary-path[data-path='/api/v1/audit/verification']").first.click()
        expect(page.locator(".opblock-description-wrapper").first).to_contain_text("Token scope", timeout=RENDER_MS)
        page.screenshot(path=artefacts / "api-docs-swagger.png", full_page=False)
        return page.locator(".opblock").count(), third_party

    (operations, third_party), console_errors = in_browser(visit)

    assert operations >= 12
    assert third_party == []
    assert console_errors == []


def test_redoc_lists_the_operations(in_browser, artefacts, auditor, live_server):
    def visit(page: Page):
        third_party = elsewhere(page, live_server.url)
        log_in(page, auditor.username)
        page.goto("/api/v1/redoc")
        expect(page.locator("h1").first).to_contain_text("Personalisation governance API", timeout=RENDER_MS)
        for path in OPERATIONS:
            expect(page.get_by_text(path, exact=True).first).to_be_attached(timeout=RENDER_MS)
        page.screenshot(path=artefacts / "api-docs-redoc.png", full_page=False)
        return page.locator("[data-section-id^='operation/']").count(), third_party

    (operations, third_party), console_errors = in_browser(visit)

    assert operations >= 12
    assert third_party == []  # Redocly's logo is not fetched from their CDN
    assert console_errors == []


def test_the_docs_pages_run_no_inline_script(client, auditor):
    client.force_login(auditor)
    for url in ("/api/v1/docs", "/api/v1/redoc"):
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        script_src = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
        assert "unsafe-inline" not in script_src and "unsafe-eval" not in script_src, url
        assert b"<script>" not in response.content, url  # every script has a src
