"""Swagger UI and ReDoc render the API's operations in headless Chromium, under the strict CSP, with no
console error (a CSP violation is one).
"""

import pytest
from playwright.sync_api import Page, expect

from tests.browser_fixtures import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A few operations of each app, as the pages name them.
OPERATIONS = ["/api/v1/reviews/queue", "/api/v1/evidence/packs", "/api/v1/audit/verification"]
RENDER_MS = 20_000  # both render the whole schema in the browser: slow on a busy 2-core machine


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


def open_as(page: Page, username: str, url: str, live_server_url: str) -> list[str]:
    """Log in and open `url`, allowing the schema time to render; returns the requests made to elsewhere."""
    page.set_default_timeout(RENDER_MS)
    third_party = elsewhere(page, live_server_url)
    log_in(page, username)
    page.goto(url)
    return third_party


def test_swagger_ui_lists_the_operations(browser_page, console_errors, artefacts, auditor, live_server):
    page = browser_page
    third_party = open_as(page, auditor.username, "/api/v1/docs", live_server.url)
    for path in OPERATIONS:
        expect(page.locator(f".opblock-summary-path[data-path='{path}']").first).to_be_visible(timeout=RENDER_MS)
    page.locator(".opblock-summary-path[data-path='/api/v1/audit/verification']").first.click()
    expect(page.locator(".opblock-description-wrapper").first).to_contain_text("Token scope", timeout=RENDER_MS)
    page.screenshot(path=artefacts / "api-docs-swagger.png", full_page=False)
    operations = page.locator(".opblock").count()

    assert operations >= 12
    assert third_party == []
    assert console_errors == []


def test_redoc_lists_the_operations(browser_page, console_errors, artefacts, auditor, live_server):
    page = browser_page
    third_party = open_as(page, auditor.username, "/api/v1/redoc", live_server.url)
    expect(page.locator("h1").first).to_contain_text("Personalisation governance API", timeout=RENDER_MS)
    for path in OPERATIONS:
        expect(page.get_by_text(path, exact=True).first).to_be_attached(timeout=RENDER_MS)
    page.screenshot(path=artefacts / "api-docs-redoc.png", full_page=False)
    operations = page.locator("[data-section-id^='operation/']").count()

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
