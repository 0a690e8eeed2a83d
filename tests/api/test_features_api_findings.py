"""Findings through the API: who sees which, filters, ordering, pages."""

import pytest

from features.models import Finding, FindingSource, FindingStatus
from features.services import feature_create, registration_submit
from governance.policy.severity import Severity
from tests.factories import complete_declaration

pytestmark = pytest.mark.django_db

FINDINGS = "/api/v1/findings"


def _finding(feature, rule_id, severity=Severity.WARNING, source=FindingSource.DRIFT, **extra):
    return Finding.objects.create(
        feature=feature,
        feature_key=feature.key if feature else extra.pop("feature_key"),
        source=source,
        rule_id=rule_id,
        severity=severity,
        message=f"{rule_id} happened.",
        fingerprint=f"{rule_id}|{extra.get('path', '')}",
        **extra,
    )


@pytest.fixture
def findings(owner, other_owner, team, other_team, filed_feature):
    theirs = feature_create(
        actor=other_owner,
        key="payment-hints",
        name="Payment hints",
        team=other_team,
        declaration=complete_declaration(),
    )
    ours = _finding(filed_feature, "undeclared-signal", path="signals")
    _finding(filed_feature, "credential-ttl-exceeded", Severity.CRITICAL, path="identities")
    _finding(theirs, "undeclared-destination", Severity.CRITICAL)
    _finding(None, "shadow-feature", feature_key="ghost-feature")
    Finding.objects.filter(pk=ours.pk).update(status=FindingStatus.RESOLVED)
    return {"ours": filed_feature, "theirs": theirs}


def rule_ids(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return sorted(item["rule_id"] for item in response.json()["results"])


def test_owners_see_their_teams_findings_only(api_client, owner, findings):
    api_client.force_login(owner)
    assert rule_ids(api_client.get(FINDINGS)) == ["credential-ttl-exceeded", "undeclared-signal"]


@pytest.mark.parametrize("role", ["reviewer", "auditor", "administrator"])
def test_readers_of_every_team_see_every_finding_including_shadow_features(request, api_client, role, findings):
    api_client.force_login(request.getfixturevalue(role))
    response = api_client.get(FINDINGS)
    assert len(response.json()["results"]) == 4
    shadow = next(item for item in response.json()["results"] if item["rule_id"] == "shadow-feature")
    assert shadow["feature"] == "ghost-feature" and shadow["registered"] is False


def test_a_token_limited_to_teams_sees_those_teams_findings_only(
    api_client, administrator, other_team, token_header, findings
):
    headers = token_header(administrator, teams=[other_team])
    assert rule_ids(api_client.get(FINDINGS, headers=headers)) == ["undeclared-destination"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"feature": "locale-ordering"}, ["credential-ttl-exceeded", "undeclared-signal"]),
        ({"severity": "critical"}, ["credential-ttl-exceeded", "undeclared-destination"]),
        ({"status": "resolved"}, ["undeclared-signal"]),
        ({"rule_id": "shadow-feature"}, ["shadow-feature"]),
        ({"source": "policy"}, []),
        ({"feature": "ghost-feature", "status": "open"}, ["shadow-feature"]),
    ],
)
def test_findings_filter(api_client, reviewer, findings, query, expected):
    api_client.force_login(reviewer)
    assert rule_ids(api_client.get(FINDINGS, query)) == expected


@pytest.mark.parametrize("query", [{"severity": "dire"}, {"status": "x"}, {"source": "gut"}, {"version": "one"}])
def test_an_invalid_findings_filter_is_a_400(api_client, reviewer, findings, query):
    api_client.force_login(reviewer)
    response = api_client.get(FINDINGS, query)
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == next(iter(query))


def test_findings_come_newest_first_and_order_on_request(api_client, reviewer, findings):
    api_client.force_login(reviewer)
    newest_first = [item["rule_id"] for item in api_client.get(FINDINGS).json()["results"]]
    assert newest_first[0] == "shadow-feature" and newest_first[-1] == "undeclared-signal"
    by_rule = [item["rule_id"] for item in api_client.get(FINDINGS, {"ordering": "rule_id"}).json()["results"]]
    assert by_rule == sorted(by_rule)


def test_a_features_findings_cover_its_versions_and_its_drift(api_client, owner, findings):
    ours = findings["ours"]
    registration_submit(actor=owner, feature=ours)
    _finding(ours, "overprivileged-identity", source=FindingSource.POLICY, registration=ours.versions.get())
    api_client.force_login(owner)
    url = "/api/v1/features/locale-ordering/findings"
    assert rule_ids(api_client.get(url)) == ["credential-ttl-exceeded", "overprivileged-identity", "undeclared-signal"]
    assert rule_ids(api_client.get(url, {"version": "1"})) == ["overprivileged-identity"]
    assert rule_ids(api_client.get(url, {"source": "drift", "status": "open"})) == ["credential-ttl-exceeded"]


def test_an_owner_gets_404_for_another_teams_feature_findings(api_client, owner, findings):
    api_client.force_login(owner)
    assert api_client.get("/api/v1/features/payment-hints/findings").status_code == 404


def test_finding_pages_follow_the_cursor(api_client, reviewer, filed_feature):
    for index in range(5):
        _finding(filed_feature, f"rule-{index}", path=str(index))
    api_client.force_login(reviewer)
    first = api_client.get(FINDINGS, {"page_size": "2"}).json()
    second = api_client.get(first["next"]).json()
    assert len(first["results"]) == 2 and len(second["results"]) == 2
    assert {item["id"] for item in first["results"]}.isdisjoint(item["id"] for item in second["results"])
    assert api_client.get(second["previous"]).json()["results"] == first["results"]
