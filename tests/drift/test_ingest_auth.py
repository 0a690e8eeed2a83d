"""Who may send observations: a live bearer token with observations:write; team-limited tokens report
only their teams' registered features (unregistered keys are shadow features, and welcome)."""

import datetime

import orjson
import pytest
from django.utils import timezone

from governance.accounts.models import ApiToken, TokenScope
from governance.accounts.tokens import token_revoke
from governance.drift.models import ObservedEdge
from tests.factories import FeatureFactory

URL = "/api/v1/observations"
pytestmark = pytest.mark.django_db


def post(client, items, headers):
    return client.post(URL, data=orjson.dumps(items), content_type="application/json", headers=headers)


def assert_unauthorized(response, detail_mentions: str) -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"] == "unauthorized"
    assert detail_mentions in response.json()["detail"]
    assert ObservedEdge.objects.count() == 0


def test_a_request_without_a_token_is_unauthorized(client, observation):
    assert_unauthorized(post(client, [observation()], {}), "Bearer pgv_")


def test_a_logged_in_session_is_not_a_token(client, administrator, observation):
    client.force_login(administrator)

    assert_unauthorized(post(client, [observation()], {}), "Bearer pgv_")


def test_an_unknown_token_is_unauthorized(client, shipper, observation):
    forged = shipper.plaintext[:-4] + "abcd"

    assert_unauthorized(post(client, [observation()], {"Authorization": f"Bearer {forged}"}), "not known")


def test_an_expired_token_is_unauthorized(client, shipper, auth, observation):
    ApiToken.objects.filter(pk=shipper.token.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))

    assert_unauthorized(post(client, [observation()], auth), "expired")


def test_a_revoked_token_is_unauthorized(client, shipper, auth, administrator, observation):
    token_revoke(actor=administrator, token=shipper.token)

    assert_unauthorized(post(client, [observation()], auth), "revoked")


def test_a_token_without_the_observations_scope_is_unauthorized(client, issue_token, observation):
    other = issue_token(scopes=[TokenScope.EVIDENCE_READ])

    response = post(client, [observation()], {"Authorization": f"Bearer {other.plaintext}"})

    assert_unauthorized(response, "lacks the scope observations:write")


def test_a_team_token_reports_its_own_teams_features(client, issue_token, team, observation):
    FeatureFactory(key="reco-locale", team=team)
    limited = issue_token(teams=[team])

    response = post(client, [observation(feature="reco-locale")], {"Authorization": f"Bearer {limited.plaintext}"})

    assert response.json() == {"accepted": 1, "rejected": []}


def test_a_team_token_cannot_report_another_teams_feature(client, issue_token, team, other_team, observation):
    FeatureFactory(key="payments-upsell", team=other_team)
    limited = issue_token(teams=[team])

    response = post(
        client,
        [observation(), observation(feature="payments-upsell"), observation()],
        {"Authorization": f"Bearer {limited.plaintext}"},
    )

    assert response.json() == {
        "accepted": 2,
        "rejected": [{"index": 1, "reason": "feature payments-upsell belongs to another team"}],
    }
    assert not ObservedEdge.objects.filter(feature_key="payments-upsell").exists()


def test_a_team_token_may_report_unregistered_features(client, issue_token, team, observation):
    limited = issue_token(teams=[team])

    response = post(client, [observation(feature="shadow-reco")], {"Authorization": f"Bearer {limited.plaintext}"})

    assert response.json() == {"accepted": 1, "rejected": []}
    assert ObservedEdge.objects.filter(feature_key="shadow-reco").exists()


def test_a_token_for_any_team_reports_every_feature(client, auth, other_team, observation):
    FeatureFactory(key="payments-upsell", team=other_team)

    assert post(client, [observation(feature="payments-upsell")], auth).json()["accepted"] == 1


def test_use_is_recorded_at_most_once_a_minute(client, shipper, auth, observation, monkeypatch):
    post(client, [observation()], auth)
    first_use = ApiToken.objects.get(pk=shipper.token.pk).last_used_at

    post(client, [observation()], auth)
    assert ApiToken.objects.get(pk=shipper.token.pk).last_used_at == first_use

    later = first_use + datetime.timedelta(minutes=2)
    monkeypatch.setattr(timezone, "now", lambda: later)
    post(client, [observation()], auth)
    assert ApiToken.objects.get(pk=shipper.token.pk).last_used_at == later
