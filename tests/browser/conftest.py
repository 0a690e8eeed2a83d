"""Headless Chromium (Debian's, not a downloaded one) driven by Playwright's sync API.

Playwright's sync API runs an event loop in the test thread, which makes Django refuse ORM calls there
("You cannot call this from an async context"); the tests call the ORM only to load the demo data, so
they opt out of that check.
"""

import os
from pathlib import Path

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artefacts"


@pytest.fixture(scope="session")
def chromium():
    """One browser for the session; a missing Chromium fails the run unless SKIP_BROWSER_TESTS=1."""
    if os.environ.get("SKIP_BROWSER_TESTS") == "1":
        pytest.skip("SKIP_BROWSER_TESTS=1: browser tests are switched off")
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: the browser tests need Debian's Chromium (apt-get install chromium). "
            "Set SKIP_BROWSER_TESTS=1 to skip them.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


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
def browser_page(chromium, live_server, console_errors):
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("console", lambda message: _record_console_error(console_errors, message))
    page.on("pageerror", lambda error: console_errors.append(f"uncaught: {error}"))
    yield page
    context.close()


@pytest.fixture
def artefacts() -> Path:
    """Where screenshots go (git-ignored)."""
    ARTEFACTS.mkdir(exist_ok=True)
    return ARTEFACTS
