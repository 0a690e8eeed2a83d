"""A process remembers a token that authenticated for API_TOKEN_CACHE_SECONDS, so a shipper's next batches
cost no query; revoking forgets it at once in the revoking process and within those seconds elsewhere,
expiry is checked on every request, and the REST API loads the issuer afresh every time."""

import datetime
import time

import pytest
from django.utils import timezone

from governance.accounts import tokens
from governance.accounts.models import ApiToken, TokenScope
from governance.accounts.tokens import TokenInvalid, token_authenticate, token_revoke
from tests.accounts.test_authentication import ObservationsView, call

pytestmark = pytest.mark.django_db
WRITE = TokenScope.OBSERVATIONS_WRITE


@pytest.fixture(autouse=True)
def nothing_remembered():
    tokens.forget_token()
    yield
    tokens.forget_token()


def later(monkeypatch, seconds: float) -> None:
    """As if `seconds` had passed for the memory (monotonic clock), and for the wall clock."""
    monotonic, now = time.monotonic, timezone.now
    monkeypatch.setattr(tokens.time, "monotonic", lambda: monotonic() + seconds)
    monkeypatch.setattr(timezone, "now", lambda: now() + datetime.timedelta(seconds=seconds))


def test_a_token_that_authenticated_costs_no_query_next_time(owner, issue, django_assert_num_queries):
    issued = issue(owner)
    token_authenticate(issued.plaintext, scope=WRITE)

    with django_assert_num_queries(0):
        assert token_authenticate(issued.plaintext, scope=WRITE) == issued.token


def test_a_wrong_scope_is_refused_from_memory_too(owner, issue):
    issued = issue(owner)
    token_authenticate(issued.plaintext, scope=WRITE)

    with pytest.raises(TokenInvalid, match="lacks the scope evidence:read"):
        token_authenticate(issued.plaintext, scope=TokenScope.EVIDENCE_READ)


def test_revoking_stops_the_token_at_once_in_this_process(owner, issue):
    issued = issue(owner)
    token_authenticate(issued.plaintext, scope=WRITE)

    token_revoke(actor=owner, token=issued.token)

    with pytest.raises(TokenInvalid, match="revoked"):
        token_authenticate(issued.plaintext, scope=WRITE)


def test_a_token_revoked_elsewhere_stops_within_the_cache_seconds(owner, issue, settings, monkeypatch):
    issued = issue(owner)
    token_authenticate(issued.plaintext, scope=WRITE)
    # Another process revokes it: this one's memory is not told.
    ApiToken.objects.filter(pk=issued.token.pk).update(revoked_at=timezone.now())
    assert token_authenticate(issued.plaintext, scope=WRITE)  # still remembered, for at most…

    later(monkeypatch, settings.GOVERNANCE["API_TOKEN_CACHE_SECONDS"] + 0.1)

    with pytest.raises(TokenInvalid, match="revoked"):
        token_authenticate(issued.plaintext, scope=WRITE)


def test_expiry_is_checked_on_every_request_even_from_memory(owner, issue, monkeypatch):
    issued = issue(owner, expires_in_days=1)
    token_authenticate(issued.plaintext, scope=WRITE)

    monkeypatch.setattr(timezone, "now", lambda: issued.token.expires_at + datetime.timedelta(seconds=1))

    with pytest.raises(TokenInvalid, match="expired"):
        token_authenticate(issued.plaintext, scope=WRITE)


def test_no_memory_when_the_cache_seconds_are_zero(owner, issue, settings, django_assert_num_queries):
    settings.GOVERNANCE = {**settings.GOVERNANCE, "API_TOKEN_CACHE_SECONDS": 0}
    issued = issue(owner)
    token_authenticate(issued.plaintext, scope=WRITE)
    ApiToken.objects.filter(pk=issued.token.pk).update(revoked_at=timezone.now())

    with pytest.raises(TokenInvalid, match="revoked"):
        token_authenticate(issued.plaintext, scope=WRITE)


def test_the_rest_api_refuses_a_deactivated_issuer_at_once_even_when_remembered(owner, issue):
    issued = issue(owner)
    assert call(ObservationsView, issued.plaintext).status_code == 200
    owner.is_active = False
    owner.save()

    response = call(ObservationsView, issued.plaintext)

    assert response.status_code == 401
    assert "deactivated" in response.data["detail"]


def test_the_rest_api_sees_the_issuer_as_they_are_now(owner, issue):
    issued = issue(owner)
    call(ObservationsView, issued.plaintext)
    owner.username = "renamed-owner"
    owner.save()

    assert call(ObservationsView, issued.plaintext).data["user"] == "renamed-owner"
