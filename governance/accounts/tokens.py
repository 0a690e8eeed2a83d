"""API tokens for machines (CI pipelines, telemetry shippers): issue, revoke, authenticate.

A token is `pgv_<prefix>_<secret>`. Only the SHA-256 of the secret is stored: the secret is random
(256 bits), so a fast hash is enough and keeps authentication cheap on the ingestion hot path.

A token that authenticated is remembered in the process for `API_TOKEN_CACHE_SECONDS` (5), keyed by the
SHA-256 of the whole token, so a telemetry shipper's next batches cost no query. What that bounds:
revoking clears the revoking process's memory at once, and every other process forgets the token
within those seconds; a token's expiry is checked on every request; a deactivated issuer's tokens
stop within the same seconds (and at once on the REST API, which loads the issuer afresh).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from features.secrets import secret_kind, secret_refusal
from governance.accounts.models import ApiToken, Team, TokenScope
from governance.audit.chain import record

TOKEN_PREFIX = "pgv"  # noqa: S105 -- the public marker of our tokens, not a secret


class TokenInvalid(Exception):
    """Authentication failed; the message says why in words a shipper's operator can act on."""


class TokenRequestInvalid(Exception):
    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    plaintext: str  # shown once, never stored


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def max_lifetime_days() -> int:
    return settings.GOVERNANCE["API_TOKEN_MAX_DAYS"]


def can_issue_tokens(user) -> bool:
    """Everyone who works here scripts something: owners file (for their teams, so they need one),
    reviewers decide, auditors export evidence, administrators keep the catalogue."""
    if user.is_owner:
        return user.teams.exists()
    return user.is_reviewer or user.is_auditor or user.is_administrator


def issuable_scopes(user) -> list[str]:
    """The scopes `user` may put on a token. A token never does more than its issuer's role allows (the
    domain checks the role on every request); `catalogue:write` is offered to administrators alone."""
    return [scope for scope in TokenScope.values if scope != TokenScope.CATALOGUE_WRITE or user.is_administrator]


def limited_to_own_teams(user) -> bool:
    """Owners' tokens act for some of their teams; the other roles already see every team."""
    return user.is_owner and not user.is_administrator


@transaction.atomic
def token_issue(*, actor, name: str, scopes: list[str], teams: list[Team], expires_in_days: int) -> IssuedToken:
    """Issue a token with scopes the actor's role may hold; owners' tokens are limited to their teams."""
    errors: dict[str, list[str]] = {}
    if not can_issue_tokens(actor):
        raise PermissionError("Owners without a team cannot issue API tokens.")
    if not name.strip():
        errors["name"] = ["Name the token after the machine that uses it, e.g. reco-otel-collector."]
    elif kind := secret_kind(name):
        errors["name"] = [secret_refusal(kind)]
    offered = issuable_scopes(actor)
    unknown = [scope for scope in scopes if scope not in offered]
    if not scopes or unknown:
        errors["scopes"] = [f"Choose at least one scope from: {', '.join(offered)}."]
    if not 1 <= expires_in_days <= max_lifetime_days():
        errors["expires_in_days"] = [f"A token lives between 1 and {max_lifetime_days()} days."]
    if limited_to_own_teams(actor):
        own = set(actor.teams.values_list("pk", flat=True))
        if not teams or any(team.pk not in own for team in teams):
            errors["teams"] = ["Limit the token to one or more of your teams."]
    if errors:
        raise TokenRequestInvalid(errors)
    prefix, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name.strip(),
        prefix=prefix,
        secret_hash=_hash(secret),
        scopes=sorted(set(scopes)),
        created_by=actor,
        expires_at=timezone.now() + datetime.timedelta(days=expires_in_days),
    )
    token.teams.set(teams)
    record(
        actor=actor,
        action="token.issued",
        obj=token,
        payload={
            "prefix": prefix,
            "scopes": token.scopes,
            "teams": sorted(team.slug for team in teams),
            "expires_at": token.expires_at,
        },
    )
    return IssuedToken(token=token, plaintext=f"{TOKEN_PREFIX}_{prefix}_{secret}")


@transaction.atomic
def token_revoke(*, actor, token: ApiToken) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if not (actor.is_administrator or token.created_by_id == actor.pk):
        raise PermissionError("Only the token's owner or an administrator revokes it.")
    if token.revoked_at is None:
        token.revoked_at, token.revoked_by = timezone.now(), actor
        token.save(update_fields=["revoked_at", "revoked_by"])
        record(actor=actor, action="token.revoked", obj=token, payload={"prefix": token.prefix})
    # Now, and again once committed: a request of this process may remember the token meanwhile.
    forget_token(token.pk)
    transaction.on_commit(lambda: forget_token(token.pk))
    return token


class TokenStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


def token_status(token: ApiToken, *, now: datetime.datetime | None = None) -> TokenStatus:
    """Revoked wins over expired, as in `token_lookup`, so a list and a refusal say the same thing."""
    if token.revoked_at is not None:
        return TokenStatus.REVOKED
    if token.expires_at <= (now or timezone.now()):
        return TokenStatus.EXPIRED
    return TokenStatus.ACTIVE


# `last_used_at` is written at most once a minute per token: telling "in use" from "unused" needs no
# more, and a write per request would cost the ingestion hot path a row lock each time.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


# Tokens that authenticated lately: SHA-256 of the whole token → (when to forget it, monotonic; the token).
# One dict per process, shared by its threads (each get and set is atomic under the GIL).
_remembered: dict[str, tuple[float, ApiToken]] = {}
_REMEMBER_AT_MOST = 1024
_forgetting = threading.Lock()


def forget_token(token_pk: int | None = None) -> None:
    """Drop a token (or, without one, every token) from this process's memory of live tokens."""
    with _forgetting:
        if token_pk is None:
            _remembered.clear()
            return
        for key, (_until, token) in list(_remembered.items()):
            if token.pk == token_pk:
                _remembered.pop(key, None)


def _remember_seconds() -> float:
    return settings.GOVERNANCE.get("API_TOKEN_CACHE_SECONDS", 5)


def _live_token(raw: str) -> ApiToken:
    """The token behind `raw` if it is live: from this process's memory, else from the database."""
    key = _hash(raw)
    remembered = _remembered.get(key)
    if remembered is not None and remembered[0] > time.monotonic():
        token = remembered[1]
        if token.expires_at <= timezone.now():
            raise TokenInvalid(f"The token {token.prefix} expired on {token.expires_at:%Y-%m-%d}.")
        return token
    token = _token_from_database(raw)
    if (seconds := _remember_seconds()) > 0:
        if len(_remembered) >= _REMEMBER_AT_MOST:
            _remembered.clear()
        _remembered[key] = (time.monotonic() + seconds, token)
    return token


def _token_from_database(raw: str) -> ApiToken:
    parts = raw.split("_", 2) if raw else []
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise TokenInvalid("Send a token as 'Authorization: Bearer pgv_…'.")
    token = ApiToken.objects.filter(prefix=parts[1]).select_related("created_by").prefetch_related("teams").first()
    if token is None or not hmac.compare_digest(token.secret_hash, _hash(parts[2])):
        raise TokenInvalid("The token is not known.")
    if token.revoked_at is not None:
        raise TokenInvalid(f"The token {token.prefix} was revoked on {token.revoked_at:%Y-%m-%d}.")
    if token.expires_at <= timezone.now():
        raise TokenInvalid(f"The token {token.prefix} expired on {token.expires_at:%Y-%m-%d}.")
    if not token.created_by.is_active:
        # Offboarding: a deactivated person's machines stop with them (OWASP NHI1).
        raise TokenInvalid(f"The token {token.prefix} was issued by a deactivated account; issue a new one.")
    return token


def _mark_used(token: ApiToken) -> ApiToken:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        # Set first, so that concurrent requests of this process do not write it too.
        token.last_used_at = now
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def token_lookup(raw: str) -> ApiToken:
    """The live token behind `raw` whatever its scopes, or `TokenInvalid` saying what is wrong."""
    return _mark_used(_live_token(raw))


def token_authenticate(raw: str, *, scope: str) -> ApiToken:
    """The live token behind `raw` holding `scope`, or `TokenInvalid` saying what is wrong."""
    token = _live_token(raw)
    if scope not in token.scopes:
        raise TokenInvalid(f"The token {token.prefix} lacks the scope {scope}.")
    return _mark_used(token)


def bearer(request) -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


def token_team_ids(token: ApiToken) -> set[int] | None:
    """The teams a token is limited to, or None when it may act for any team."""
    ids = {team.pk for team in token.teams.all()}
    return ids or None
