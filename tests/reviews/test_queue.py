"""The review queue (governance/reviews/selectors.py, filtersets.py and the queue page)."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from features.choices import RegistrationStatus
from features.declaration import IdentityDeclaration
from features.models import Outcome, Registration
from features.services import feature_create
from governance.accounts.models import User
from governance.reviews.filtersets import ReviewQueueFilterSet
from governance.reviews.selectors import review_queue
from governance.reviews.services import finding_accept, review_decide
from tests.factories import ServiceIdentityFactory, catalogue_for, complete_declaration
from tests.reviews.support import WIKI, approve, file_feature, tier_2, with_purchase_history

pytestmark = pytest.mark.django_db


def submitted_days_ago(registration: Registration, days: int) -> Registration:
    Registration.objects.filter(pk=registration.pk).update(submitted_at=timezone.now() - datetime.timedelta(days=days))
    return registration


def queued(**filters) -> list[Registration]:
    return list(ReviewQueueFilterSet(filters, queryset=review_queue()).qs)


def keys(registrations) -> list[str]:
    return [registration.feature.key for registration in registrations]


@pytest.fixture
def critical_twice(owner, team):
    """Two critical findings: purchase history above tier 1, and a secret kept on a wiki."""
    ServiceIdentityFactory(name="wiki-reader", secret_location=WIKI)
    declaration = with_purchase_history(identities=(IdentityDeclaration("wiki-reader", ("profile:read",), "read"),))
    return file_feature(owner, team, declaration, key="reco-history")


def test_the_queue_lists_submitted_versions_oldest_first(owner, team):
    first = file_feature(owner, team, key="reco-a")
    second = file_feature(owner, team, key="reco-b")
    third = file_feature(owner, team, key="reco-c")
    submitted_days_ago(first, 1)
    submitted_days_ago(second, 5)
    submitted_days_ago(third, 3)

    assert keys(review_queue()) == ["reco-b", "reco-c", "reco-a"]


def test_the_queue_leaves_out_drafts_and_decided_versions(owner, team, reviewer):
    declaration = complete_declaration()
    catalogue_for(declaration)
    feature_create(actor=owner, key="reco-draft", name="Draft", team=team, declaration=declaration)
    approve(reviewer, file_feature(owner, team, key="reco-approved"))
    review_decide(
        actor=reviewer,
        registration=file_feature(owner, team, key="reco-sent-back"),
        outcome=Outcome.REQUEST_CHANGES,
        comment="Shorten the retention.",
    )
    review_decide(
        actor=reviewer,
        registration=file_feature(owner, team, key="reco-rejected"),
        outcome=Outcome.REJECT,
        comment="Not needed.",
    )
    file_feature(owner, team, key="reco-waiting")

    assert keys(review_queue()) == ["reco-waiting"]


def test_the_queue_counts_open_findings_and_approvals(owner, team, reviewer, critical_twice):
    row = review_queue().get()

    assert (row.open_critical, row.open_warning, row.approvals) == (2, 0, 0)


def test_the_queue_filters_by_requested_tier(owner, team):
    file_feature(owner, team, key="reco-basic")
    file_feature(owner, team, tier_2(), key="reco-enriched")

    assert keys(queued(tier="2")) == ["reco-enriched"]


def test_the_queue_filters_by_team(owner, team, other_owner, other_team):
    file_feature(owner, team, key="reco-locale")
    file_feature(other_owner, other_team, key="pay-locale")

    assert keys(queued(team="payments")) == ["pay-locale"]


def test_the_queue_filters_by_severity_of_open_findings(owner, team, critical_twice):
    file_feature(owner, team, key="reco-clean")

    rows = queued(severity="critical")

    assert keys(rows) == ["reco-history"]
    assert rows[0].open_critical == 2  # filtering does not multiply the counts


def test_an_accepted_finding_no_longer_counts_as_open(owner, team, reviewer, critical_twice):
    for finding in critical_twice.findings.all():
        finding_accept(
            actor=reviewer,
            finding=finding,
            reason="Mitigated elsewhere.",
            until=timezone.localdate() + datetime.timedelta(days=30),
        )

    assert queued(severity="critical") == []
    assert review_queue().get().open_critical == 0


def test_the_queue_page_shows_how_long_each_version_has_waited(client, owner, team, reviewer):
    submitted_days_ago(file_feature(owner, team), 3)
    client.force_login(reviewer)

    response = client.get("/reviews/")

    assert response.status_code == 200
    assert '<td class="age">3\xa0days</td>' in response.text


def test_the_queue_page_links_each_version_and_says_who_submitted_it_when(client, owner, team, reviewer):
    registration = submitted_days_ago(file_feature(owner, team, key="reco-locale"), 3)
    submitted_on = timezone.localdate(timezone.now() - datetime.timedelta(days=3)).isoformat()
    owner.first_name, owner.last_name = "Omar", "Haddad"
    owner.save()
    client.force_login(reviewer)

    page = client.get("/reviews/").text

    assert f'<a href="/reviews/reco-locale/v{registration.version}/">Reco Locale v1</a>' in page
    assert f"<td>Omar Haddad, {submitted_on}</td>" in page
    User.objects.filter(pk=owner.pk).update(first_name="", last_name="")  # no name: the username
    assert f"<td>owner, {submitted_on}</td>" in client.get("/reviews/").text


def test_filtering_the_queue_leaves_the_next_queue_whole(owner, team, other_owner, other_team):
    file_feature(owner, team, key="reco-locale")
    file_feature(other_owner, other_team, key="pay-locale")

    assert keys(queued(team="payments", severity="critical")) == []
    assert sorted(keys(review_queue())) == ["pay-locale", "reco-locale"]


def test_the_queue_page_applies_the_filters(client, owner, team, other_owner, other_team, reviewer):
    file_feature(owner, team, key="reco-locale")
    file_feature(other_owner, other_team, key="pay-locale")
    client.force_login(reviewer)

    response = client.get("/reviews/", {"team": "payments"})

    assert "Pay Locale v1" in response.text
    assert "Reco Locale v1" not in response.text


def test_owners_cannot_see_the_queue(client, owner):
    client.force_login(owner)

    assert client.get("/reviews/").status_code == 403


def queue_page_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/reviews/")
    assert response.status_code == 200
    return len(queries)


def file_many(first: int, last: int, teams) -> None:
    """Versions from both teams, every third one with critical findings."""
    for number in range(first, last):
        owner, team = teams[number % 2]
        declaration = with_purchase_history() if number % 3 == 0 else None
        file_feature(owner, team, declaration, key=f"reco-{number}")


def test_the_queue_page_reads_a_fixed_number_of_queries(
    client, owner, team, other_owner, other_team, reviewer, settings
):
    settings.GOVERNANCE = settings.GOVERNANCE | {"FEATURES_PER_PAGE": 100}  # all of them on one page
    teams = [(owner, team), (other_owner, other_team)]
    client.force_login(reviewer)
    file_many(0, 5, teams)
    five = queue_page_queries(client)

    file_many(5, 50, teams)
    fifty = queue_page_queries(client)

    assert Registration.objects.filter(status=RegistrationStatus.SUBMITTED).count() == 50
    assert fifty == five
