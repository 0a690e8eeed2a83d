"""The token service: issuing, revoking and the refusals a machine's operator reads."""

import datetime

import pytest
from django.utils import timezone

from governance.accounts.models import ApiToken, TokenScope
from governance.accounts.tokens import (
    TokenInvalid,
    TokenRequestInvalid,
    TokenStatus,
    token_authenticate,
    token_lookup,
    token_revoke,
    token_status,
)
from governance.audit.chain import verify
from governance.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def secret_of(plaintext: str) -> str:
    return plaintext.split("_", 2)[2]


def test_issuing_stores_only_a_hash_of_the_secret(owner, issue):
    issued = issue(owner)
    row = ApiToken.objects.filter(pk=issued.token.pk).values().get()
    stored = " ".join(str(value) for value in row.values())
    assert secret_of(issued.plaintext) not in stored
    assert issued.plaintext.startswith(f"pgv_{row['prefix']}_")


def test_the_plaintext_is_in_no_audit_payload(owner, issue):
    issued = issue(owner)
    token_revoke(actor=owner, token=issued.token)
    for event in AuditEvent.objects.all():
        assert secret_of(issued.plaintext) not in str(event.payload) + event.object_label


def test_issuing_is_an_audit_event(owner, issue):
    issued = issue(owner)
    event = AuditEvent.objects.get(action="token.issued")
    assert (event.actor, event.object_id) == (owner, str(issued.token.pk))
    assert event.payload["scopes"] == [TokenScope.OBSERVATIONS_WRITE]
    assert event.payload["teams"] == ["recommendations"]
    assert verify().ok


def test_revoking_is_an_audit_event(owner, administrator, issue):
    issued = issue(owner)
    token_revoke(actor=administrator, token=issued.token)
    event = AuditEvent.objects.get(action="token.revoked")
    assert (event.actor, event.payload) == (administrator, {"prefix": issued.token.prefix})


def test_revoking_twice_records_one_event(owner, issue):
    issued = issue(owner)
    token_revoke(actor=owner, token=issued.token)
    token_revoke(actor=owner, token=issued.token)
    assert AuditEvent.objects.filter(action="token.revoked").count() == 1


def test_another_owner_cannot_revoke_the_token(owner, other_owner, issue):
    issued = issue(owner)
    with pytest.raises(PermissionError):
        token_revoke(actor=other_owner, token=issued.token)


def test_expiry_beyond_the_maximum_is_refused(owner, issue, settings):
    settings.GOVERNANCE = settings.GOVERNANCE | {"API_TOKEN_MAX_DAYS": 30}
    with pytest.raises(TokenRequestInvalid) as refused:
        issue(owner, expires_in_days=31)
    assert refused.value.errors == {"expires_in_days": ["A token lives between 1 and 30 days."]}
    assert not ApiToken.objects.exists()


def test_owners_must_limit_a_token_to_their_teams(owner, issue):
    with pytest.raises(TokenRequestInvalid) as refused:
        issue(owner, teams=[])
    assert "teams" in refused.value.errors


def test_owners_cannot_limit_a_token_to_another_team(owner, other_team, issue):
    with pytest.raises(TokenRequestInvalid) as refused:
        issue(owner, teams=[other_team])
    assert refused.value.errors["teams"] == ["Limit the token to one or more of your teams."]


def test_administrators_may_issue_a_token_for_any_team(administrator, issue):
    issued = issue(administrator, teams=[])
    assert list(issued.token.teams.all()) == []


def test_reviewers_and_auditors_issue_tokens_for_any_team(reviewer, auditor, issue):
    decides = issue(reviewer, scopes=[TokenScope.REVIEWS_WRITE], teams=[])
    exports = issue(auditor, scopes=[TokenScope.EVIDENCE_READ], teams=[])

    assert decides.token.scopes == [TokenScope.REVIEWS_WRITE] and not decides.token.teams.exists()
    assert exports.token.scopes == [TokenScope.EVIDENCE_READ]


@pytest.mark.parametrize("role", ["owner", "reviewer", "auditor"])
def test_only_administrators_put_the_catalogue_scope_on_a_token(request, administrator, issue, role):
    with pytest.raises(TokenRequestInvalid) as refused:
        issue(request.getfixturevalue(role), scopes=[TokenScope.CATALOGUE_WRITE])

    assert list(refused.value.errors) == ["scopes"]
    assert issue(administrator, scopes=[TokenScope.CATALOGUE_WRITE], teams=[]).token.scopes == ["catalogue:write"]


def test_an_owner_without_a_team_issues_no_token(owner, issue):
    owner.teams.clear()
    with pytest.raises(PermissionError):
        issue(owner, teams=[])


def test_a_live_token_with_the_scope_authenticates(owner, issue):
    issued = issue(owner)
    assert token_authenticate(issued.plaintext, scope=TokenScope.OBSERVATIONS_WRITE) == issued.token


def test_a_revoked_token_is_refused(owner, issue):
    issued = issue(owner)
    token_revoke(actor=owner, token=issued.token)
    with pytest.raises(TokenInvalid, match=r"revoked on \d{4}-\d{2}-\d{2}"):
        token_authenticate(issued.plaintext, scope=TokenScope.OBSERVATIONS_WRITE)


def test_an_expired_token_is_refused(owner, issue):
    issued = issue(owner)
    ApiToken.objects.filter(pk=issued.token.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    with pytest.raises(TokenInvalid, match="expired on"):
        token_authenticate(issued.plaintext, scope=TokenScope.OBSERVATIONS_WRITE)


def test_a_token_without_the_scope_is_refused(owner, issue):
    issued = issue(owner)
    with pytest.raises(TokenInvalid, match="lacks the scope evidence:read"):
        token_authenticate(issued.plaintext, scope=TokenScope.EVIDENCE_READ)


@pytest.mark.parametrize(
    "raw",
    ["pgv_deadbeef_not-the-secret", "pgv_", "ghp_abc_def", ""],
    ids=["unknown", "truncated", "foreign", "empty"],
)
def test_an_unknown_token_is_refused(owner, issue, raw):
    issue(owner)
    with pytest.raises(TokenInvalid):
        token_authenticate(raw, scope=TokenScope.OBSERVATIONS_WRITE)


def test_a_known_prefix_with_the_wrong_secret_is_refused(owner, issue):
    issued = issue(owner)
    with pytest.raises(TokenInvalid, match="not known"):
        token_authenticate(f"pgv_{issued.token.prefix}_guess", scope=TokenScope.OBSERVATIONS_WRITE)


def test_a_token_of_a_deactivated_issuer_is_refused(owner, issue):
    issued = issue(owner)
    owner.is_active = False
    owner.save()
    with pytest.raises(TokenInvalid, match="deactivated"):
        token_lookup(issued.plaintext)


def test_lookup_accepts_a_live_token_whatever_its_scopes(owner, issue):
    issued = issue(owner, scopes=[TokenScope.EVIDENCE_READ])
    assert token_lookup(issued.plaintext) == issued.token


def test_lookup_refuses_a_revoked_token(owner, issue):
    issued = issue(owner)
    token_revoke(actor=owner, token=issued.token)
    with pytest.raises(TokenInvalid, match="revoked"):
        token_lookup(issued.plaintext)


def test_authenticating_records_when_the_token_was_last_used(owner, issue):
    issued = issue(owner)
    token_authenticate(issued.plaintext, scope=TokenScope.OBSERVATIONS_WRITE)
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at is not None


def test_a_refused_scope_does_not_count_as_use(owner, issue):
    issued = issue(owner)
    with pytest.raises(TokenInvalid):
        token_authenticate(issued.plaintext, scope=TokenScope.EVIDENCE_READ)
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at is None


def test_status_says_revoked_before_expired(owner, issue):
    issued = issue(owner)
    token_revoke(actor=owner, token=issued.token)
    later = issued.token.expires_at + datetime.timedelta(days=1)
    token = ApiToken.objects.get(pk=issued.token.pk)
    assert token_status(token, now=later) == TokenStatus.REVOKED
