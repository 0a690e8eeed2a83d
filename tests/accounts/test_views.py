"""The token pages: who may use them, the plaintext shown once, refusals next to the fields."""

import logging

import pytest
from django.utils import timezone

from governance.accounts.models import ApiToken
from governance.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

NEW = {"name": "reco-otel-collector", "scopes": ["observations:write"], "teams": ["recommendations"]}


def post_new(client, **overrides):
    return client.post("/tokens/new/", {**NEW, "expires_in_days": "30", **overrides})


def test_issuing_shows_the_plaintext_once_and_uncached(client, owner):
    client.force_login(owner)
    response = post_new(client)
    plaintext = response.context["plaintext"]
    assert response.status_code == 200
    assert plaintext in response.text
    assert "shown only once" in response.text
    assert "no-store" in response["Cache-Control"]
    second = client.get("/tokens/")
    assert plaintext not in second.text
    assert ApiToken.objects.get().prefix in second.text


def test_the_plaintext_reaches_no_log_line_nor_the_audit_trail(client, owner, caplog):
    caplog.set_level(logging.DEBUG)
    client.force_login(owner)
    plaintext = post_new(client).context["plaintext"]
    secret = plaintext.split("_", 2)[2]
    assert secret not in caplog.text
    assert all(secret not in str(event.payload) for event in AuditEvent.objects.all())


def test_the_form_offers_the_maximum_lifetime_by_default(client, owner, settings):
    settings.GOVERNANCE = settings.GOVERNANCE | {"API_TOKEN_MAX_DAYS": 45}
    client.force_login(owner)
    response = client.get("/tokens/new/")
    assert response.context["form"]["expires_in_days"].value() == 45


def test_the_form_offers_an_owner_only_their_teams(client, owner, other_team):
    client.force_login(owner)
    choices = client.get("/tokens/new/").context["form"].fields["teams"].choices
    assert choices == [("recommendations", "Recommendations")]


def test_a_lifetime_beyond_the_maximum_is_refused_next_to_the_field(client, owner):
    client.force_login(owner)
    response = post_new(client, expires_in_days="91")
    assert response.context["form"].errors == {"expires_in_days": ["A token lives between 1 and 90 days."]}
    assert not ApiToken.objects.exists()


def test_an_owner_naming_no_team_is_refused_next_to_the_field(client, owner):
    client.force_login(owner)
    response = post_new(client, teams=[])
    assert response.context["form"].errors["teams"] == ["Limit the token to one or more of your teams."]
    assert "plaintext" not in response.context


def test_an_owner_naming_another_team_is_refused_next_to_the_field(client, owner, other_team):
    client.force_login(owner)
    response = post_new(client, teams=["payments"])
    assert response.context["form"].errors["teams"] == ["Limit the token to one or more of your teams."]


def test_an_administrator_may_issue_a_token_for_any_team(client, administrator):
    client.force_login(administrator)
    response = post_new(client, teams=[])
    assert "plaintext" in response.context
    assert not ApiToken.objects.get().teams.exists()


def test_revoking_from_the_list_is_an_audit_event(client, owner, issue):
    issued = issue(owner)
    client.force_login(owner)
    response = client.post(f"/tokens/{issued.token.pk}/revoke/")
    assert response.status_code == 302
    assert ApiToken.objects.get().revoked_at is not None
    assert AuditEvent.objects.filter(action="token.revoked", object_id=str(issued.token.pk)).exists()


def test_the_list_shows_each_status(client, administrator, owner, issue):
    _, revoked, expired = (issue(owner, name=name).token for name in ("active", "revoked", "expired"))
    ApiToken.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    client.force_login(administrator)
    statuses = {token.name: token.status for token in client.get("/tokens/").context["tokens"]}
    assert statuses == {"active": "active", "revoked": "revoked", "expired": "expired"}


def test_an_owner_lists_only_the_tokens_they_issued(client, owner, other_owner, other_team, issue):
    issue(owner, name="mine")
    issue(other_owner, name="theirs", teams=[other_team])
    client.force_login(owner)
    assert [token.name for token in client.get("/tokens/").context["tokens"]] == ["mine"]


def test_an_administrator_lists_every_token(client, owner, other_owner, other_team, administrator, issue):
    issue(owner, name="mine")
    issue(other_owner, name="theirs", teams=[other_team])
    client.force_login(administrator)
    assert {token.name for token in client.get("/tokens/").context["tokens"]} == {"mine", "theirs"}


LOGIN = 302
PAGES = {
    ("get", "/tokens/"): {"owner": 200, "other_owner": 200, "reviewer": 200, "auditor": 200, "administrator": 200},
    ("get", "/tokens/new/"): {"owner": 200, "other_owner": 200, "reviewer": 200, "auditor": 200, "administrator": 200},
    ("post", "/tokens/new/"): {"owner": 200, "other_owner": 200, "reviewer": 200, "auditor": 200, "administrator": 200},
    ("post", "/tokens/{token}/revoke/"): {
        "owner": 302,
        "other_owner": 404,
        "reviewer": 404,
        "auditor": 404,
        "administrator": 302,
    },
    ("get", "/tokens/{token}/revoke/"): {
        "owner": 405,
        "other_owner": 405,
        "reviewer": 405,
        "auditor": 405,
        "administrator": 405,
    },
}


@pytest.mark.parametrize(("method", "url"), PAGES, ids=lambda v: v)
@pytest.mark.parametrize("role", ["owner", "other_owner", "reviewer", "auditor", "administrator"])
def test_page_access_by_role(client, request, owner, issue, method, url, role):
    token = issue(owner).token
    client.force_login(request.getfixturevalue(role))
    response = getattr(client, method)(url.format(token=token.pk), {**NEW, "expires_in_days": "30"})
    assert response.status_code == PAGES[method, url][role]


@pytest.mark.parametrize(("method", "url"), PAGES, ids=lambda v: v)
def test_anonymous_visitors_log_in_first(client, owner, issue, method, url):
    token = issue(owner).token
    response = getattr(client, method)(url.format(token=token.pk))
    assert (response.status_code, response["Location"].split("?")[0]) == (LOGIN, "/login/")


def test_another_owner_cannot_revoke_the_token(client, owner, other_owner, issue):
    issued = issue(owner)
    client.force_login(other_owner)
    assert client.post(f"/tokens/{issued.token.pk}/revoke/").status_code == 404
    assert ApiToken.objects.get().revoked_at is None


def test_an_owner_without_a_team_cannot_issue(client, owner):
    owner.teams.clear()
    client.force_login(owner)
    assert client.get("/tokens/new/").status_code == 403


@pytest.mark.parametrize("role", ["owner", "reviewer", "auditor", "administrator"])
def test_the_nav_links_to_the_tokens_for_every_role(request, client, role):
    client.force_login(request.getfixturevalue(role))
    assert 'href="/tokens/"' in client.get("/features/").text
