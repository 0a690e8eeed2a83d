"""Reviewing through the browser: governance/reviews/views.py and the owner's feature page."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from features.choices import DestinationKind
from features.declaration import DestinationDeclaration, IdentityDeclaration
from features.models import Decision, FindingStatus
from governance.accounts.models import Role
from governance.audit.models import AuditEvent
from tests.factories import UserFactory
from tests.reviews.support import approve, file_feature, refile, with_purchase_history

pytestmark = pytest.mark.django_db

REVIEW = "/reviews/reco-locale/v1/"
DECIDE = "/reviews/reco-locale/v1/decide/"
APPROVAL = {"outcome": "approve", "tier": "1", "conditions": "No use outside the EU.", "expires_on": "", "comment": ""}


@pytest.fixture
def submitted(owner, team):
    return file_feature(owner, team)


def shown_messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_a_reviewer_approves_and_sees_the_decision_on_the_review_page(client, reviewer, submitted):
    client.force_login(reviewer)

    response = client.post(DECIDE, APPROVAL)

    assert response.status_code == 302
    assert response.url == REVIEW
    page = client.get(response.url)
    assert "Decision recorded on Reco Locale v1." in page.text
    assert "<strong>Approve</strong> v1 at tier 1" in page.text
    assert "Conditions: No use outside the EU." in page.text
    assert Decision.objects.get().reviewer == reviewer


def test_a_refusal_for_segregation_of_duties_is_shown_and_nothing_is_recorded(client, team, submitted):
    colleague = UserFactory(username="team-reviewer", role=Role.REVIEWER, teams=[team])
    client.force_login(colleague)
    events = AuditEvent.objects.count()

    response = client.post(DECIDE, APPROVAL)

    assert response.status_code == 302
    assert shown_messages(response) == [
        "You belong to Recommendations, the team that owns this feature.",
    ]
    assert not Decision.objects.exists()
    assert AuditEvent.objects.count() == events


def test_a_decision_with_missing_fields_is_shown_back_with_the_errors(client, reviewer, submitted):
    client.force_login(reviewer)

    response = client.post(DECIDE, {"outcome": "reject", "comment": ""})

    assert response.status_code == 200
    assert "Give the reason for rejecting." in response.text
    assert not Decision.objects.exists()


def test_owners_cannot_post_a_decision(client, owner, submitted):
    client.force_login(owner)

    assert client.post(DECIDE, APPROVAL).status_code == 403
    assert not Decision.objects.exists()


def test_a_reviewer_accepts_a_finding_from_the_review_page(client, owner, team, reviewer):
    registration = file_feature(owner, team, with_purchase_history())
    finding = registration.findings.get(rule_id="signal-exceeds-tier")
    until = timezone.localdate() + datetime.timedelta(days=60)
    client.force_login(reviewer)

    response = client.post(
        f"/reviews/findings/{finding.pk}/accept/", {"reason": "Aggregated first.", "until": until.isoformat()}
    )

    assert response.url == REVIEW
    finding.refresh_from_db()
    assert (finding.status, finding.accepted_until) == (FindingStatus.ACCEPTED, until)


def test_the_owner_sees_the_decision_its_conditions_and_the_reviewer(client, owner, reviewer, submitted):
    approve(reviewer, submitted, conditions="No use outside the EU.")
    client.force_login(owner)

    response = client.get("/features/reco-locale/")

    assert response.status_code == 200
    decisions = response.text[response.text.index('id="decisions"') :]
    assert "<strong>Approve</strong> v1 at tier 1" in decisions
    assert "by reviewer" in decisions
    assert "Conditions: No use outside the EU." in decisions


def test_the_review_page_shows_the_findings_with_their_references(client, owner, team, reviewer):
    file_feature(owner, team, with_purchase_history())
    client.force_login(reviewer)

    response = client.get(REVIEW)

    findings = response.text[response.text.index('id="findings"') : response.text.index('id="changes"')]
    assert "signal-exceeds-tier" in findings
    assert "GDPR Art. 5(1)(c) Data minimisation" in findings
    assert "NIST CSF 2.0 PR.AA-05" in findings


def test_the_review_page_shows_the_changes_since_the_approved_version(client, owner, reviewer, submitted):
    approve(reviewer, submitted)
    refile(
        owner,
        submitted.feature,
        with_purchase_history(
            identities=(IdentityDeclaration("reco-reader", ("profile:read", "catalogue:read"), "read"),),
            destinations=(
                DestinationDeclaration("reco-ranker", DestinationKind.RANKING, ("locale",), True),
                DestinationDeclaration("reco-analytics", DestinationKind.ANALYTICS, ("purchase_history",), True),
            ),
        ),
    )
    client.force_login(reviewer)

    response = client.get("/reviews/reco-locale/v2/")

    changes = response.text[response.text.index('id="changes"') :]
    assert "Changes since the approved version 1" in changes
    assert '<li class="added"><strong>added</strong> <span class="mono">purchase_history</span>' in changes
    assert "+ scope catalogue:read" in changes
    assert '<li class="added"><strong>added</strong> <span class="mono">reco-analytics</span>' in changes


def test_the_first_review_says_nothing_is_approved_yet(client, reviewer, submitted):
    client.force_login(reviewer)

    assert "First review: nothing approved yet" in client.get(REVIEW).text
