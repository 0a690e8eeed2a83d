"""The demo data: one command gives a registry a newcomer can click through, reached through the real
workflow (owners submit, reviewers outside the team decide, tier 3 takes two of them)."""

from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.db.models import Count

from features.choices import FeatureStatus, IdentityKind, IdentityStatus, RegistrationStatus, Tier
from features.demo import FEATURES, LOGINS
from features.models import (
    Decision,
    Feature,
    Finding,
    FindingStatus,
    Outcome,
    Registration,
    ServiceIdentity,
    Signal,
)
from features.selectors import latest_registration
from governance.accounts.models import Role, User
from governance.audit.chain import verify
from governance.audit.models import AuditEvent
from governance.demo.loader import DemoNotLoaded, load_demo
from governance.drift.models import ObservedDay, ObservedEdge
from governance.policy.severity import Severity
from tests.factories import SignalFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    return load_demo()


def open_critical(registration: Registration):
    return registration.findings.filter(status=FindingStatus.OPEN, severity=Severity.CRITICAL)


def audit_actions(registration: Registration) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="features.registration", object_id=str(registration.pk)).values_list(
            "action", flat=True
        )
    )


def test_loading_into_an_empty_database_reports_it_loaded(demo):
    assert demo.loaded
    assert demo.counts["features"] == Feature.objects.count() == len(FEATURES)


def test_every_role_gets_a_login_with_its_development_password(demo):
    for role in Role:
        assert User.objects.filter(role=role).exists(), role
    for login in LOGINS:
        user = User.objects.get(username=login.username)
        assert user.check_password(login.password), login.username
        assert len(login.password) >= 12
        assert user.get_full_name()


def test_owners_and_reviewers_sit_where_the_workflow_needs_them(demo):
    owner = User.objects.get(username="owner")
    assert set(owner.teams.values_list("slug", flat=True)) == {"recommendations", "search"}
    assert User.objects.get(username="owner2").teams.filter(slug="payments").exists()
    assert User.objects.filter(role=Role.REVIEWER, teams__isnull=True).count() >= 2
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser


def test_catalogue_spans_every_sensitivity(demo):
    assert Signal.objects.count() >= 25
    assert set(Signal.objects.values_list("sensitivity", flat=True)) == {"low", "medium", "high", "special"}


def test_identity_inventory_holds_the_deliberate_mistakes(demo):
    identities = ServiceIdentity.objects.all()
    assert identities.count() >= 10
    assert identities.filter(kind=IdentityKind.API_KEY).exists()
    assert identities.filter(credential_max_lifetime_days__gte=400).exists()
    assert any(not i.secret_location.startswith(("vault://", "awssm://")) for i in identities), (
        "one secret should live outside a secrets manager"
    )
    assert any("*" in i.granted_scopes for i in identities)
    assert identities.filter(team__isnull=True).exists()
    assert identities.filter(status=IdentityStatus.DISABLED).exists()


def test_features_cover_every_status_and_every_tier(demo):
    assert set(Feature.objects.values_list("status", flat=True)) == set(FeatureStatus.values)
    tiers = {latest_registration(feature).requested_tier for feature in Feature.objects.all()}
    assert tiers == set(Tier.values)


def test_a_tier_2_request_in_review_can_be_approved_against_its_approved_version(demo):
    feature = Feature.objects.get(key="product-recommendations")
    assert feature.status == FeatureStatus.IN_REVIEW
    assert feature.team.slug == "recommendations"
    assert list(feature.versions.order_by("version").values_list("status", flat=True)) == [
        RegistrationStatus.APPROVED,
        RegistrationStatus.SUBMITTED,
    ]
    assert feature.approved_registration.version == 1
    in_review = latest_registration(feature)
    assert in_review.requested_tier == Tier.ENRICHED
    assert in_review.submitted_by.username == "owner"
    assert not open_critical(in_review).exists()
    assert in_review.findings.filter(status=FindingStatus.OPEN, severity=Severity.WARNING).exists()
    assert not in_review.decisions.exists()


def test_a_request_in_review_carries_an_open_critical_finding(demo):
    blocked = [
        registration
        for registration in Registration.objects.filter(status=RegistrationStatus.SUBMITTED)
        if open_critical(registration).exists()
    ]
    assert [registration.feature.key for registration in blocked] == ["personal-search-ranking"]
    assert set(open_critical(blocked[0]).values_list("rule_id", flat=True)) == {"orphaned-identity"}


def test_a_tier_3_request_waits_for_its_second_approval(demo):
    registration = latest_registration(Feature.objects.get(key="instalment-offers"))
    assert registration.status == RegistrationStatus.SUBMITTED
    assert registration.requested_tier == Tier.HIGH_TRUST
    approvals = registration.decisions.filter(outcome=Outcome.APPROVE)
    assert [decision.reviewer.username for decision in approvals] == ["reviewer"]


def test_the_approved_tier_3_feature_has_two_approvers_and_an_accepted_finding(demo):
    feature = Feature.objects.get(key="nearby-store-picks")
    approved = feature.approved_registration
    assert feature.status == FeatureStatus.APPROVED
    assert approved.version == 2 and approved.approved_tier == Tier.HIGH_TRUST
    approvers = set(approved.decisions.filter(outcome=Outcome.APPROVE).values_list("reviewer__username", flat=True))
    assert approvers == {"reviewer", "reviewer2"}
    accepted = approved.findings.get(severity=Severity.CRITICAL)
    assert accepted.status == FindingStatus.ACCEPTED
    assert accepted.accepted_reason and accepted.accepted_by.username == "reviewer"
    assert accepted.accepted_until > approved.approved_at.date()
    sent_back = feature.versions.get(version=1)
    assert sent_back.status == RegistrationStatus.CHANGES_REQUESTED
    assert sent_back.decisions.get().outcome == Outcome.REQUEST_CHANGES


def test_approved_versions_have_no_open_critical_finding(demo):
    approved = Registration.objects.filter(status=RegistrationStatus.APPROVED)
    assert approved.count() >= 5
    for registration in approved:
        assert not open_critical(registration).exists(), registration


def test_decisions_were_taken_by_reviewers_outside_the_owning_team(demo):
    decisions = Decision.objects.select_related("registration__feature", "reviewer")
    assert {decision.outcome for decision in decisions} == set(Outcome.values)
    for decision in decisions:
        reviewer, registration = decision.reviewer, decision.registration
        assert reviewer.role == Role.REVIEWER, decision
        assert not reviewer.teams.filter(pk=registration.feature.team_id).exists(), decision
        assert reviewer != registration.submitted_by, decision
        if decision.outcome != Outcome.APPROVE:
            assert decision.comment, decision


def test_tier_0_is_approved_on_submission_without_a_reviewer(demo):
    registration = Feature.objects.get(key="popular-this-week").approved_registration
    assert registration.approved_tier == Tier.NONE
    assert not registration.decisions.exists()
    assert audit_actions(registration)[-2:] == ["registration.submitted", "registration.approved"]


def test_every_state_was_reached_with_an_audit_event(demo):
    outcome_events = {
        RegistrationStatus.APPROVED: "registration.approved",
        RegistrationStatus.CHANGES_REQUESTED: "registration.changes_requested",
        RegistrationStatus.REJECTED: "registration.rejected",
    }
    for registration in Registration.objects.exclude(status=RegistrationStatus.DRAFT):
        actions = audit_actions(registration)
        assert actions.count("registration.submitted") == 1, registration
        assert actions.count("registration.decided") == registration.decisions.count(), registration
        if registration.status in outcome_events:
            assert outcome_events[registration.status] in actions, registration
    for feature in Feature.objects.filter(status=FeatureStatus.RETIRED):
        assert AuditEvent.objects.filter(
            action="feature.retired", object_type="features.feature", object_id=str(feature.pk)
        ).exists()
    for finding in Finding.objects.filter(status=FindingStatus.ACCEPTED):
        assert AuditEvent.objects.filter(action="finding.accepted", object_id=str(finding.pk)).exists()
    assert verify().ok


def test_a_second_load_changes_nothing(demo):
    models = (User, Signal, ServiceIdentity, Feature, Registration, Decision, Finding, AuditEvent, ObservedEdge)
    before = {model: model.objects.count() for model in models}
    again = load_demo()
    assert not again.loaded
    assert {model: model.objects.count() for model in before} == before


@pytest.mark.django_db(transaction=True)
def test_loading_sends_no_email_to_the_fictitious_people():
    """The workflow queues its notifications on commit; the demo's commit sends none of them."""
    load_demo()
    assert Decision.objects.exists()
    assert mail.outbox == []


def test_a_database_with_clashing_data_is_refused_untouched(db):
    SignalFactory(key="locale")
    with pytest.raises(DemoNotLoaded, match="locale"):
        load_demo()
    assert not User.objects.exists()


def test_command_prints_the_logins_and_is_idempotent(db):
    first, second = StringIO(), StringIO()
    call_command("load_demo", stdout=first)
    call_command("load_demo", stdout=second)
    assert "Loaded the demo" in first.getvalue()
    assert "already loaded" in second.getvalue()
    for login in LOGINS:
        assert login.username in second.getvalue() and login.password in second.getvalue()


def test_demo_is_never_loaded_in_production(db, settings):
    settings.PRODUCTION = True
    with pytest.raises(DemoNotLoaded, match="production"):
        load_demo()
    assert not User.objects.exists()


def test_every_demo_feature_page_renders_for_the_auditor(demo, client):
    client.force_login(User.objects.get(username="auditor"))
    assert client.get("/features/").status_code == 200
    for feature in Feature.objects.all():
        for url in (f"/features/{feature.key}/", f"/features/{feature.key}/diff/"):
            assert client.get(url).status_code == 200, url
    diff = client.get("/features/product-recommendations/diff/?from=1&to=2")
    assert b"cart_contents" in diff.content
    accepted = client.get("/features/nearby-store-picks/").content.decode()
    assert "secret-outside-manager" in accepted and "by Rita Svensson: The feature-store credential" in accepted


def test_every_version_in_review_opens_for_the_reviewer(demo, client):
    client.force_login(User.objects.get(username="reviewer"))
    queue = client.get("/reviews/")
    assert queue.status_code == 200
    for registration in Registration.objects.filter(status=RegistrationStatus.SUBMITTED):
        url = f"/reviews/{registration.feature.key}/v{registration.version}/"
        assert url.encode() in queue.content, url
        assert client.get(url).status_code == 200, url


# --- the telemetry: what the demo's services were seen doing ------------------------------------------------


def open_drift() -> list[tuple[str, str, str]]:
    findings = Finding.objects.filter(source="drift", status=FindingStatus.OPEN)
    return sorted(findings.values_list("feature_key", "rule_id", "path"))


def test_thirty_days_of_telemetry_are_folded_into_observed_paths(demo):
    assert demo.counts["observations"] == ObservedDay.objects.aggregate(total=Count("id"))["total"]
    days = ObservedDay.objects.values_list("day", flat=True)
    assert (max(days) - min(days)).days == 29
    assert ObservedEdge.objects.filter(feature_key="localised-search", destination="response").count() == 2


def test_the_demo_s_drift_tells_its_story(demo):
    assert open_drift() == [
        ("home-hero-experiment", "identity-shared", "identity reco-profile-reader"),
        ("home-hero-experiment", "shadow-feature", "feature home-hero-experiment"),
        ("nearby-store-picks", "credential-ttl-exceeded", "identity reco-feature-store-sa"),
        ("product-recommendations", "identity-shared", "identity reco-profile-reader"),
        ("product-recommendations", "undeclared-destination", "signal purchase_history → analytics-warehouse"),
        ("product-recommendations", "undeclared-signal", "signal cart_contents"),
        ("seasonal-banner", "shadow-feature", "feature seasonal-banner"),
    ]
    assert not Finding.objects.filter(source="drift", feature_key="localised-search").exists()


def test_approving_version_2_of_recommendations_resolves_the_drift_it_declares(
    demo, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    from governance.reviews.services import review_decide

    cache.clear()  # no drift evaluation left scheduled: the approval must ask for its own
    version_2 = latest_registration(Feature.objects.get(key="product-recommendations"))
    with django_capture_on_commit_callbacks(execute=True):
        review_decide(
            actor=User.objects.get(username="reviewer"), registration=version_2, outcome=Outcome.APPROVE, tier=2
        )

    remaining = [row for row in open_drift() if row[0] == "product-recommendations"]
    assert remaining == [
        ("product-recommendations", "identity-shared", "identity reco-profile-reader"),
        ("product-recommendations", "undeclared-destination", "signal purchase_history → analytics-warehouse"),
    ]


def test_every_demo_data_paths_page_renders_for_the_reviewer(demo, client):
    client.force_login(User.objects.get(username="reviewer"))
    overview = client.get("/drift/")
    assert overview.status_code == 200
    assert b'<a href="/drift/features/home-hero-experiment/">home-hero-experiment</a>' in overview.content
    for feature in Feature.objects.all():
        assert client.get(f"/drift/features/{feature.key}/").status_code == 200, feature.key
    paths = client.get("/drift/features/product-recommendations/").content.decode()
    assert "analytics-warehouse" in paths and "cart_contents" in paths
