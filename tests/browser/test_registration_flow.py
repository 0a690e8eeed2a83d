"""A feature owner registers a feature in the browser, fixes a mistake without losing work, submits it."""

import pytest
from playwright.sync_api import Page, expect

from features.demo import LOGINS
from governance.demo.loader import load_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OWNER = next(login for login in LOGINS if login.username == "owner")
KEY = "recently-viewed-reminders"
NAME = "Recently viewed reminders"
PURPOSE = "Remind signed-in shoppers of products they looked at, on the home page."
TWO_SENTENCES = "We remind you of products you viewed. We also use your language."
ONE_SENTENCE = "We remind you of products you viewed recently, in your language."
SIGNAL_ROWS = [
    ("browsing_history", "To know which products were viewed.", "90"),
    ("locale", "To show the reminder in the shopper's language.", "30"),
]


def log_in(page: Page, username: str, password: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("button[type=submit]:has-text('Log in')")
    expect(page.locator(".whoami")).to_contain_text(OWNER.full_name)


def click_row_button(page: Page, value: str, *, appears: str | None = None, disappears: str | None = None):
    """Press an htmx "Add a …"/"Remove" button and wait for its section to change, without a reload."""
    page.evaluate("window.__marker = 1")
    page.click(f'button[name=action][value="{value}"]')
    if appears:
        page.wait_for_selector(appears, state="attached")
    if disappears:
        page.wait_for_selector(disappears, state="detached")
    assert page.evaluate("window.__marker") == 1, f"{value} reloaded the whole page instead of one section"


def add_signal(page: Page, index: int, key: str, why: str, days: str) -> None:
    click_row_button(page, "add:signals", appears=f"#id_signals-{index}-signal")
    page.select_option(f"#id_signals-{index}-signal", key)
    page.fill(f"#id_signals-{index}-justification", why)
    page.fill(f"#id_signals-{index}-retention_days", days)


def selected(page: Page, selector: str) -> list[str]:
    return page.eval_on_selector(selector, "el => Array.from(el.selectedOptions, o => o.value)")


def assert_everything_typed_is_still_there(page: Page) -> None:
    assert page.input_value("#id_key") == KEY
    assert page.input_value("#id_name") == NAME
    assert page.input_value("#id_team") == "recommendations"
    assert page.input_value("#id_purpose") == PURPOSE
    assert page.input_value("#id_requested_tier") == "2"
    assert page.input_value("#id_consent_basis") == "consent"
    assert page.input_value("#id_retention_days") == "90"
    for index, (key, why, days) in enumerate(SIGNAL_ROWS):
        assert page.input_value(f"#id_signals-{index}-signal") == key
        assert page.input_value(f"#id_signals-{index}-justification") == why
        assert page.input_value(f"#id_signals-{index}-retention_days") == days
    assert page.locator("#id_signals-2-signal").count() == 0
    assert page.input_value("#id_identities-0-identity") == "reco-profile-reader"
    assert page.input_value("#id_identities-0-scopes") == "profile:read, orders:read"
    assert page.input_value("#id_destinations-0-name") == "reco-ranker"
    assert page.input_value("#id_destinations-0-kind") == "recommendation"
    assert sorted(selected(page, "#id_destinations-0-signals")) == ["browsing_history", "locale"]
    assert page.is_checked("#id_destinations-0-controls_before")


def test_owner_registers_corrects_and_submits_a_feature(browser_page, console_errors, artefacts):
    load_demo()
    page = browser_page
    log_in(page, OWNER.username, OWNER.password)

    page.goto("/features/new/")
    page.fill("#id_key", KEY)
    page.fill("#id_name", NAME)
    page.select_option("#id_team", "recommendations")
    page.fill("#id_explanation", TWO_SENTENCES)
    page.fill("#id_purpose", PURPOSE)
    page.select_option("#id_requested_tier", "2")
    page.select_option("#id_consent_basis", "consent")
    page.fill("#id_consent_mechanism", "Consent banner purpose 'personalised recommendations'.")
    page.fill("#id_retention_days", "90")
    page.fill("#id_opt_out", "Settings > Privacy > Personalised recommendations; flag reco-reminders.")

    for index, row in enumerate(SIGNAL_ROWS):
        add_signal(page, index, *row)
    # A third row, removed again in place: the first two survive it.
    add_signal(page, 2, "purchase_history", "Not needed after all.", "30")
    click_row_button(page, "remove:signals:2", disappears="#id_signals-2-signal")
    for index, (key, why, _) in enumerate(SIGNAL_ROWS):
        assert page.input_value(f"#id_signals-{index}-signal") == key
        assert page.input_value(f"#id_signals-{index}-justification") == why

    click_row_button(page, "add:identities", appears="#id_identities-0-identity")
    page.select_option("#id_identities-0-identity", "reco-profile-reader")
    page.fill("#id_identities-0-scopes", "profile:read, orders:read")

    click_row_button(page, "add:destinations", appears="#id_destinations-0-name")
    page.fill("#id_destinations-0-name", "reco-ranker")
    page.select_option("#id_destinations-0-kind", "recommendation")
    page.select_option("#id_destinations-0-signals", ["browsing_history", "locale"])
    page.check("#id_destinations-0-controls_before")

    # The policy check follows what is typed, before anything is saved: two sentences break a rule.
    expect(page.locator("#live-findings")).to_contain_text("explanation-one-sentence")
    assert page.evaluate("window.__marker") == 1

    with page.expect_navigation():
        page.click('button[name=action][value="save"]')
    explanation_field = page.locator(".field", has=page.locator("#id_explanation"))
    expect(explanation_field.locator(".errorlist")).to_contain_text("exactly one sentence")
    expect(page.locator(".message.error")).to_contain_text("Nothing was saved")
    assert page.input_value("#id_explanation") == TWO_SENTENCES
    assert_everything_typed_is_still_there(page)
    page.screenshot(path=artefacts / "registration-form-error.png", full_page=True)

    page.fill("#id_explanation", ONE_SENTENCE)
    with page.expect_navigation():
        page.click('button[name=action][value="save"]')
    assert page.url.endswith(f"/features/{KEY}/"), page.url
    expect(page.locator(".message.success")).to_contain_text("Draft of")

    with page.expect_navigation():
        page.click("button:has-text('Submit for review')")
    expect(page.locator(".message.success")).to_contain_text("submitted for review")

    page.goto("/features/")
    row = page.locator("#feature-table tbody tr", has=page.locator(f"text={KEY}"))
    expect(row).to_have_count(1)
    expect(row.locator(".status")).to_have_text("In review")
    expect(row).to_contain_text("Tier 2")
    page.screenshot(path=artefacts / "feature-list.png", full_page=True)

    assert console_errors == []
