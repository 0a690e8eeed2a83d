"""The one way the tests get a headless Chromium page against the live server (registered in tests/conftest.py).

Usage: request `browser_page` (and `console_errors`, `artefacts` as needed) and mark the module
`pytest.mark.browser` and `pytest.mark.django_db(transaction=True)`, so the live server sees the test's data.
"""

import os
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import Page, sync_playwright

from tests.factories import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTEFACTS = Path(__file__).resolve().parents[1] / "test-artefacts"


@pytest.fixture
def console_errors() -> list[str]:
    """Console errors and uncaught exceptions of the page; CSP violations arrive here too."""
    return []


def _record_console_error(errors: list[str], message) -> None:
    if message.type != "error":
        return
    url = message.location.get("url", "")
    errors.append(f"{message.text} ({url})" if url else message.text)


@pytest.fixture
def browser_page(live_server, console_errors, monkeypatch):
    """A page of Debian's Chromium (not a downloaded one), driven by Playwright's sync API, on the live server.

    Playwright's sync API runs an event loop in the test thread while it is open, so Django refuses ORM calls
    there ("You cannot call this from an async context"); DJANGO_ALLOW_ASYNC_UNSAFE lifts that check for this
    test only. Chromium starts for each test (about half a second) rather than once a session, so that the
    loop and the opt-out end with the browser test and no other test runs under them.

    A missing Chromium fails the test unless SKIP_BROWSER_TESTS=1, which skips it.
    """
    if os.environ.get("SKIP_BROWSER_TESTS") == "1":
        pytest.skip("SKIP_BROWSER_TESTS=1: browser tests are switched off")
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: the browser tests need Debian's Chromium (apt-get install chromium). "
            "Set SKIP_BROWSER_TESTS=1 to skip them.",
            pytrace=False,
        )
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
            context.set_default_timeout(10_000)
            page = context.new_page()
            page.on("console", lambda message: _record_console_error(console_errors, message))
            page.on("pageerror", lambda error: console_errors.append(f"uncaught: {error}"))
            yield page
        finally:
            # While the loop runs, Django hands this thread a connection of its own (connections are kept
            # per async context); close it now, or nothing will and PostgreSQL cannot drop the test database.
            connections.close_all()
            chromium.close()


@pytest.fixture
def artefacts() -> Path:
    """Where screenshots go (git-ignored)."""
    ARTEFACTS.mkdir(exist_ok=True)
    return ARTEFACTS


def log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Log in through the login form (a factory-made user's password by default)."""
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
