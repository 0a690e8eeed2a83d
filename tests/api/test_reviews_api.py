"""The review endpoints (governance/reviews/api.py): the queue, decisions, risk acceptance, drift triage."""

import datetime

import pytest
from django.utils import timezone

from features.choices import RegistrationStatus
from features.models import Decision, Finding, FindingSource, FindingStatus
from governance.accounts.models import Role
from governance.audit.models import AuditEvent
from governance.policy.severity import Severity
from tests.factories import FeatureFactory, UserFactory
from tests.reviews.support import approve, file_feature, tier_2, with_purchase_history

pytestmark = pytest.mark.django_db

QUEUE = "/api/v1/reviews/queue"
DRIFT = "/api/v1/drift/findings"


def decisions_url(key="reco-locale", version=1) -> str:
    return f"/api/v1/features/{key}/versions/{version}/decisions"


def in_days(days: int) -> str:
    return (timezone.localdate() + datetime.timedelta(days=days)).isoformat()


@pytest.fixture
def submitted(owner, team):
    return file_feature(owner, team)


@pytest.fixture
def as_reviewer(api_client, reviewer):
    api_client.force_login(reviewer)
    return api_client


def error_fields(response) -> dict[str, str]:
    return {error["field"]: error["code"] for error in response.json()["errors"]}


# --- the queue --------------------------------------------------------------------------------------------


def test_the_queue_lists_versions_in_review_with_their_open_findings(as_reviewer, owner, team):
    file_feature(owner, team)
    file_feature(owner, team, with_purchase_history(), key="reco-history")

    body = as_reviewer.get(QUEUE).json()

    assert [(e["feature"], e["version"], e["open_critical"]) for e in body["results"]] == [
        ("reco-locale", 1, 0),
        ("reco-history", 1, 1),
    ]
    assert body["results"][0] | {"submitted_at": None} == {
        "feature": "reco-locale",
        "name": "Reco Locale",
        "team": "recommendations",
        "version": 1,
        "requested_tier": 1,
        "submitted_at": None,
        "submitted_by": "owner",
        "open_critical": 0,
        "open_warning": 0,
        "approvals": 0,
        "approvals_required": 1,
    }


def test_the_queue_filters_like_the_page(as_reviewer, owner, team, other_team, other_owner):
    file_feature(owner, team)
    file_feature(owner, team, tier_2(), key="reco-consented")
    file_feature(other_owner, other_team, key="pay-locale")

    def keys(query):
        return [entry["feature"] for entry in as_reviewer.get(QUEUE, query).json()["results"]]

    assert keys({"tier": 2}) == ["reco-consented"]
    assert keys({"team": "payments"}) == ["pay-locale"]
    assert keys({"team": "no-such-team"}) == []
    assert keys({"severity": "critical"}) == []


def test_a_filter_value_out_of_its_choices_is_a_field_error(as_reviewer):
    response = as_reviewer.get(QUEUE, {"tier": 9})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert error_fields(response) == {"tier": "invalid_choice"}


@pytest.mark.parametrize("name", ["tier", "severity"])
def test_an_empty_filter_value_is_a_field_error_not_any(as_reviewer, name):
    response = as_reviewer.get(QUEUE, {name: ""})

    assert response.status_code == 400
    assert set(error_fields(response)) == {name}


def test_the_queue_pages_with_a_cursor_and_orders_on_request(as_reviewer, owner, team):
    for key in ("reco-a", "reco-b", "reco-c"):
        file_feature(owner, team, key=key)

    first = as_reviewer.get(QUEUE, {"page_size": 2}).json()
    second = as_reviewer.get(first["next"]).json()
    newest_first = as_reviewer.get(QUEUE, {"ordering": "-submitted_at"}).json()

    assert [e["feature"] for e in first["results"] + second["results"]] == ["reco-a", "reco-b", "reco-c"]
    assert second["next"] is None
    assert [e["feature"] for e in newest_first["results"]] == ["reco-c", "reco-b", "reco-a"]


def test_an_invalid_cursor_is_not_found(as_reviewer):
    response = as_reviewer.get(QUEUE, {"cursor": "not-a-cursor"})

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


@pytest.mark.parametrize("role", ["owner", "other_owner"])
def test_owners_do_not_read_the_queue(request, api_client, role):
    api_client.force_login(request.getfixturevalue(role))

    response = api_client.get(QUEUE)

    assert (response.status_code, response.json()["code"]) == (403, "not_allowed")


def test_a_team_limited_token_sees_only_its_teams_in_the_queue(
    api_client, token_header, administrator, owner, team, other_owner, other_team
):
    file_feature(owner, team)
    file_feature(other_owner, other_team, key="pay-locale")

    body = api_client.get(QUEUE, headers=token_header(administrator, teams=[other_team])).json()

    assert [entry["feature"] for entry in body["results"]] == ["pay-locale"]


def test_anonymous_callers_are_told_to_authenticate(api_client):
    response = api_client.get(QUEUE)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["code"] == "not_authenticated"


# --- decisions --------------------------------------------------------------------------------------------


def test_a_reviewer_approves_through_the_api(as_reviewer, reviewer, submitted):
    response = as_reviewer.post(
        decisions_url(),
        {"outcome": "approve", "tier": 1, "conditions": "EU only.", "expires_on": in_days(100)},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body | {"id": None, "decided_at": None} == {
        "id": None,
        "feature": "reco-locale",
        "version": 1,
        "reviewer": "reviewer",
        "outcome": "approve",
        "tier": 1,
        "conditions": "EU only.",
        "expires_on": in_days(100),
        "comment": "",
        "decided_at": None,
        "registration_status": RegistrationStatus.APPROVED,
    }
    assert AuditEvent.objects.filter(action="registration.decided", actor=reviewer).count() == 1


def test_requesting_changes_sends_the_version_back(as_reviewer, submitted):
    response = as_reviewer.post(
        decisions_url(), {"outcome": "request_changes", "comment": "Drop the wildcard scope."}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["registration_status"] == RegistrationStatus.CHANGES_REQUESTED


def test_the_owner_reads_the_decisions_on_their_version(api_client, owner, reviewer, submitted):
    approve(reviewer, submitted)
    api_client.force_login(owner)

    body = api_client.get(decisions_url()).json()

    assert [(d["reviewer"], d["outcome"], d["tier"]) for d in body["results"]] == [("reviewer", "approve", 1)]


def test_decisions_filter_by_outcome(api_client, owner, reviewer, submitted):
    approve(reviewer, submitted)
    api_client.force_login(owner)

    assert api_client.get(decisions_url(), {"outcome": "reject"}).json()["results"] == []
    assert len(api_client.get(decisions_url(), {"outcome": "approve"}).json()["results"]) == 1


def test_another_team_does_not_see_the_version(api_client, other_owner, submitted):
    api_client.force_login(other_owner)

    assert api_client.get(decisions_url()).status_code == 404


def test_an_unknown_version_is_not_found(as_reviewer, submitted):
    response = as_reviewer.get(decisions_url(version=7))

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_approving_above_the_requested_tier_names_the_field(as_reviewer, submitted):
    response = as_reviewer.post(decisions_url(), {"outcome": "approve", "tier": 3}, format="json")

    assert response.status_code == 400
    assert error_fields(response) == {"tier": "invalid"}
    assert not Decision.objects.exists()


def test_a_decision_with_fields_of_the_wrong_shape_is_refused_field_by_field(as_reviewer, submitted):
    response = as_reviewer.post(
        decisions_url(), {"outcome": "maybe", "tier": "high", "expires_on": "soon"}, format="json"
    )

    assert response.status_code == 400
    assert error_fields(response) == {"outcome": "invalid_choice", "tier": "invalid_choice", "expires_on": "invalid"}


def test_sending_back_without_a_comment_is_refused(as_reviewer, submitted):
    response = as_reviewer.post(decisions_url(), {"outcome": "reject"}, format="json")

    assert response.status_code == 400
    assert error_fields(response) == {"comment": "invalid"}


def test_a_reviewer_of_the_owning_team_is_refused_for_segregation_of_duties(api_client, team, submitted):
    insider = UserFactory(username="insider", role=Role.REVIEWER, teams=[team])
    api_client.force_login(insider)

    response = api_client.post(decisions_url(), {"outcome": "approve", "tier": 1}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "segregation_of_duties"
    assert "Recommendations" in response.json()["detail"]


def test_segregation_of_duties_is_judged_before_the_fields(api_client, team, submitted):
    api_client.force_login(UserFactory(username="insider", role=Role.REVIEWER, teams=[team]))

    response = api_client.post(decisions_url(), {"outcome": "maybe"}, format="json")

    assert (response.status_code, response.json()["code"]) == (403, "segregation_of_duties")


@pytest.mark.parametrize("role", ["owner", "auditor", "administrator"])
def test_only_reviewers_decide(request, api_client, role, submitted):
    api_client.force_login(request.getfixturevalue(role))

    response = api_client.post(decisions_url(), {"outcome": "approve", "tier": 1}, format="json")

    assert (response.status_code, response.json()["code"]) == (403, "not_allowed")


def test_approval_over_an_open_critical_finding_is_a_conflict_that_lists_it(as_reviewer, owner, team):
    registration = file_feature(owner, team, with_purchase_history())
    critical = registration.findings.get(severity=Severity.CRITICAL)

    response = as_reviewer.post(decisions_url(), {"outcome": "approve", "tier": 1}, format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "open_critical_findings"
    assert body["findings"] == [{"id": critical.pk, "rule_id": "signal-exceeds-tier", "path": critical.path}]


def test_a_version_no_longer_in_review_cannot_be_decided(as_reviewer, reviewer, submitted):
    approve(reviewer, submitted)

    response = as_reviewer.post(decisions_url(), {"outcome": "reject", "comment": "Too late."}, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "transition_not_allowed")


def test_a_body_that_is_not_json_is_refused(as_reviewer, submitted):
    response = as_reviewer.post(decisions_url(), "outcome=approve", content_type="application/x-www-form-urlencoded")

    assert (response.status_code, response.json()["code"]) == (415, "unsupported_media_type")


def test_a_token_without_the_reviews_scope_is_refused(api_client, token_header, owner, team, submitted):
    headers = token_header(owner, scopes=["registrations:write"], teams=[team])

    response = api_client.post(decisions_url(), {"outcome": "approve", "tier": 1}, format="json", headers=headers)

    assert response.status_code == 401
    assert "lacks the scope reviews:write" in response.json()["detail"]


# --- accepting a finding's risk -----------------------------------------------------------------------------


@pytest.fixture
def critical(owner, team):
    return file_feature(owner, team, with_purchase_history()).findings.get(severity=Severity.CRITICAL)


def test_a_reviewer_accepts_a_finding_until_a_date(as_reviewer, reviewer, critical):
    response = as_reviewer.post(
        f"/api/v1/findings/{critical.pk}/accept",
        {"reason": "Aggregated to categories first.", "until": in_days(90)},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["accepted_until"], body["accepted_by"]) == ("accepted", in_days(90), "reviewer")
    assert (body["feature"], body["version"], body["registered"]) == ("reco-locale", 1, True)
    assert AuditEvent.objects.filter(action="finding.accepted").count() == 1


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"reason": "Fine.", "until": "2000-01-01"}, {"until": "invalid"}),
        ({"reason": "   ", "until": in_days(30)}, {"reason": "blank"}),
        ({"reason": "Fine.", "until": in_days(400)}, {"until": "invalid"}),
        ({}, {"reason": "required", "until": "required"}),
    ],
)
def test_an_incomplete_acceptance_names_its_fields(as_reviewer, critical, data, fields):
    response = as_reviewer.post(f"/api/v1/findings/{critical.pk}/accept", data, format="json")

    assert response.status_code == 400
    assert error_fields(response) == fields
    assert Finding.objects.get(pk=critical.pk).status == FindingStatus.OPEN


def test_accepting_twice_is_a_conflict(as_reviewer, critical):
    accept = {"reason": "Aggregated first.", "until": in_days(30)}
    as_reviewer.post(f"/api/v1/findings/{critical.pk}/accept", accept, format="json")

    response = as_reviewer.post(f"/api/v1/findings/{critical.pk}/accept", accept, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "transition_not_allowed")


def test_the_owner_cannot_accept_and_another_team_does_not_see_the_finding(api_client, owner, other_owner, critical):
    accept = {"reason": "Fine by me.", "until": in_days(30)}
    api_client.force_login(owner)
    assert api_client.post(f"/api/v1/findings/{critical.pk}/accept", accept, format="json").status_code == 403
    api_client.force_login(other_owner)
    assert api_client.post(f"/api/v1/findings/{critical.pk}/accept", accept, format="json").status_code == 404


# --- drift findings ---------------------------------------------------------------------------------------


def drift(feature=None, key="", rule_id="undeclared-signal", severity=Severity.WARNING, **extra) -> Finding:
    return Finding.objects.create(
        feature=feature,
        feature_key=key,
        source=FindingSource.DRIFT,
        rule_id=rule_id,
        severity=severity,
        message=f"{rule_id} on {key or feature.key}",
        fingerprint=f"{rule_id}:{key}:{extra.get('path', '')}",
        **extra,
    )


@pytest.fixture
def drift_findings(team, other_team):
    ours = FeatureFactory(key="reco-locale", team=team)
    theirs = FeatureFactory(key="pay-locale", team=other_team)
    return {
        "ours": drift(ours),
        "theirs": drift(theirs, severity=Severity.CRITICAL, rule_id="undeclared-destination"),
        "shadow": drift(key="shadow-reco", rule_id="shadow-feature"),
    }


def test_reviewers_see_every_drift_finding_newest_first(as_reviewer, drift_findings):
    body = as_reviewer.get(DRIFT).json()

    assert [f["feature"] for f in body["results"]] == ["shadow-reco", "pay-locale", "reco-locale"]
    assert body["results"][0]["registered"] is False


def test_owners_see_the_drift_of_their_teams_only(api_client, owner, drift_findings):
    api_client.force_login(owner)

    assert [f["feature"] for f in api_client.get(DRIFT).json()["results"]] == ["reco-locale"]


def test_drift_findings_filter_by_feature_severity_and_status(as_reviewer, drift_findings):
    def features(query):
        return [f["feature"] for f in as_reviewer.get(DRIFT, query).json()["results"]]

    assert features({"feature": "reco-locale"}) == ["reco-locale"]
    assert features({"severity": "critical"}) == ["pay-locale"]
    assert features({"status": "accepted"}) == []


def test_policy_findings_are_not_drift(as_reviewer, critical):
    assert as_reviewer.get(DRIFT).json()["results"] == []
    response = as_reviewer.post(
        f"/api/v1/drift/findings/{critical.pk}/accept", {"reason": "x", "until": in_days(5)}, format="json"
    )
    assert response.status_code == 404


def test_a_reviewer_accepts_a_drift_finding_even_of_an_unregistered_key(as_reviewer, drift_findings):
    shadow = drift_findings["shadow"]

    response = as_reviewer.post(
        f"/api/v1/drift/findings/{shadow.pk}/accept",
        {"reason": "A load test; gone by Friday.", "until": in_days(7)},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "accepted"
