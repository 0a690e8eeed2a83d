"""A security reviewer works the queue in the browser: reads the findings and the diff against the approved
version, approves a lower tier with a condition, and the owner then sees that decision on the feature."""

import re

import pytest
from playwright.sync_api import Page, expect

from features.demo import LOGINS, TEAMS
from governance.accounts.models import Role, Team
from governance.demo.loader import load_demo
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OWNER = next(login for login in LOGINS if login.username == "owner")
REVIEWER = next(login for login in LOGINS if login.username == "reviewer")
FEATURE, KEY, VERSION = "Recommended for you", "product-recommendations", 2
CONDITION = "Only for signed-in EU shoppers"


def log_in(page: Page, username: str, password: str, full_name: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("button[type=submit]:has-text('Log in')")
    expect(page.locator(".whoami")).to_contain_text(full_name)


def log_out(page: Page) -> None:
    with page.expect_navigation():
        page.click(".whoami button:has-text('Log out')")
    expect(page.locator(".whoami")).to_have_count(0)


def test_reviewer_approves_a_lower_tier_with_a_condition_and_the_owner_sees_it(browser_page, console_errors, artefacts):
    load_demo()
    page = browser_page
    log_in(page, REVIEWER.username, REVIEWER.password, REVIEWER.full_name)

    page.click("nav >> text=Review queue")
    expect(page.locator("h1")).to_have_text("Review queue")
    row = page.locator("#queue tbody tr", has=page.locator(f"text={FEATURE} v{VERSION}"))
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Recommendations")
    expect(row).to_contain_text("Tier 2")
    expect(row).to_contain_text(OWNER.full_name)
    expect(row.locator(".age")).to_have_text(re.compile(r"\d+\s+minutes?"))
    page.screenshot(path=artefacts / "review-queue.png", full_page=True)

    with page.expect_navigation():
        row.locator("a", has_text=f"{FEATURE} v{VERSION}").click()
    assert page.url.endswith(f"/reviews/{KEY}/v{VERSION}/"), page.url
    expect(page.locator("h1")).to_contain_text(FEATURE)
    expect(page.locator(".page-head")).to_contain_text(f"submitted by {OWNER.full_name}")
    findings = page.locator("#findings")
    expect(findings.locator("h2")).to_have_text("Findings")
    expect(findings.locator(".finding.finding-open .sev-critical")).to_have_count(0)
    warning = findings.locator(".finding.finding-open", has_text="overprivileged-identity")
    expect(warning.locator(".sev-warning")).to_have_count(1)
    expect(warning).to_contain_text("payments:read")
    # The demo's telemetry: the service already uses the cart that this version asks for.
    runtime = findings.locator(".finding.finding-open", has_text="undeclared-signal")
    expect(runtime).to_contain_text("cart_contents")
    expect(runtime).to_contain_text("observed at runtime")
    expect(warning).not_to_contain_text("observed at runtime")
    changes = page.locator("#changes")
    expect(changes.locator("h2").first).to_have_text("Changes since the approved version 1")
    expect(changes.locator("li.added", has_text="cart_contents")).to_have_count(1)
    expect(changes.locator("li.added", has_text="checkout-payments-client")).to_have_count(1)
    expect(changes.locator("li.changed", has_text="reco-ranker")).to_contain_text("cart_contents")
    page.screenshot(path=artefacts / "review-page.png", full_page=True)

    decision = page.locator("form.decision-form")
    decision.get_by_label("Approve", exact=True).check()
    decision.locator("#id_tier").select_option("1")
    decision.locator("#id_conditions").fill(CONDITION)
    with page.expect_navigation():
        decision.locator("button:has-text('Record decision')").click()
    expect(page.locator(".message.success")).to_contain_text(f"Decision recorded on {FEATURE} v{VERSION}")
    recorded = page.locator("#decisions .decision")
    expect(recorded).to_have_count(1)
    expect(recorded).to_contain_text(f"Approve v{VERSION} at tier 1 by {REVIEWER.full_name}")
    expect(recorded).to_contain_text(CONDITION)
    expect(page.locator(".status")).to_have_text("Approved")
    expect(page.locator("form.decision-form")).to_have_count(0)

    log_out(page)
    log_in(page, OWNER.username, OWNER.password, OWNER.full_name)
    page.goto(f"/features/{KEY}/")
    expect(page.locator(".page-head .status")).to_have_text("Approved")
    expect(page.locator(".message.success")).to_contain_text("Approved at tier 1")
    latest = page.locator("#decisions .decision").first
    expect(latest).to_contain_text(f"Approve v{VERSION} at tier 1 by {REVIEWER.full_name}")
    expect(latest).to_contain_text(f"Conditions: {CONDITION}")
    page.screenshot(path=artefacts / "owner-feature-decision.png", full_page=True)

    assert console_errors == []


def test_a_reviewer_in_the_owning_team_is_refused_the_decision(browser_page, console_errors):
    load_demo()
    insider = UserFactory(
        username="reco-reviewer",
        first_name="Ines",
        last_name="Insider",
        role=Role.REVIEWER,
        teams=[Team.objects.get(slug="recommendations")],
    )
    page = browser_page
    log_in(page, insider.username, PASSWORD, insider.get_full_name())

    page.goto(f"/reviews/{KEY}/v{VERSION}/")
    expect(page.locator("#decisions")).to_contain_text(
        f"You belong to {TEAMS['recommendations']}, the team that owns this feature."
    )
    expect(page.locator("form.decision-form")).to_have_count(0)
    expect(page.locator("#findings details.accept")).to_have_count(0)
    assert console_errors == []
