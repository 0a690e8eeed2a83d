"""Login lockout: after `LOGIN_LOCKOUT["FAILURES"]` failed logins for one username from one address within
the cool-off, that pair is refused, without the password being checked, until the cool-off has passed
since the failure that locked it. Another address is not affected, so nobody can lock a person out from
afar; a success clears the pair's count.

The count lives in a table (`LoginLockout`), not the cache: it holds in the embedded default (SQLite, no
Redis) as in production across every web process; a restart or a cache flush does not hand an attacker a
fresh budget; and a row lock makes it exact. Each attempt takes its slot before its password is checked
(`attempt_start`), so a burst of parallel guesses gets exactly `FAILURES` checks, not one per request.

Failures are logged; a lock on an existing account is also an audit event. Neither carries the password,
and a username that names no account is logged as such, never as typed (it may be a password typed in
the wrong box).
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from governance.accounts.models import LoginLockout, User
from governance.audit.chain import record

logger = logging.getLogger(__name__)

LOCKED_OUT = "auth.locked_out"
DIGEST_SALT = "governance.accounts.lockout.username"


class LockedOut(Exception):
    """The username is locked out from this address until `until`; the password was not checked."""

    def __init__(self, until: datetime.datetime):
        self.until = until
        super().__init__(f"Locked out until {until:%Y-%m-%d %H:%M:%S %Z}.")


@dataclass(frozen=True)
class Attempt:
    """A login attempt holding one of the pair's slots while its password is checked."""

    lockout_id: int
    address: str


def failures_allowed() -> int:
    return settings.LOGIN_LOCKOUT["FAILURES"]


def cool_off() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.LOGIN_LOCKOUT["COOL_OFF_SECONDS"])


def username_digest(username: str) -> str:
    """A keyed hash of what was typed: the pair's key, without storing a password typed by mistake."""
    return salted_hmac(DIGEST_SALT, username.casefold(), algorithm="sha256").hexdigest()


def _pair(username: str, address: str):
    return LoginLockout.objects.filter(username_digest=username_digest(username), address=address)


def locked_until(*, username: str, address: str) -> datetime.datetime | None:
    """When the pair may try again, if it may not now."""
    now = timezone.now()
    row = _pair(username, address).first()
    if row is None:
        return None
    if row.locked_until is not None:
        return row.locked_until if row.locked_until > now else None
    if row.attempts >= failures_allowed() and row.window_started_at > now - cool_off():
        return now + cool_off()  # every slot is taken by attempts still being checked
    return None


@transaction.atomic
def attempt_start(*, username: str, address: str) -> Attempt:
    """Take a slot for one attempt (raise `LockedOut` when there is none), before any password is checked."""
    now = timezone.now()
    row, created = LoginLockout.objects.select_for_update().get_or_create(
        username_digest=username_digest(username),
        address=address,
        defaults={"window_started_at": now, "last_attempt_at": now},
    )
    if created:
        _forget_stale(now)
    if row.locked_until is not None and row.locked_until > now:
        who = row.user.get_username() if row.user_id else "an unknown username"
        logger.info("Login refused unchecked for %s from %s: locked out.", who, address)
        raise LockedOut(row.locked_until)
    if row.locked_until is not None or row.window_started_at <= now - cool_off():
        row.attempts, row.window_started_at, row.locked_until = 0, now, None  # the lock or the window ran out
    if row.attempts >= failures_allowed():
        raise LockedOut(now + cool_off())  # the last slots are held by attempts still being checked
    row.attempts += 1
    row.last_attempt_at = now
    row.save(update_fields=["attempts", "window_started_at", "last_attempt_at", "locked_until"])
    return Attempt(lockout_id=row.pk, address=address)


@transaction.atomic
def attempt_failed(attempt: Attempt, *, user: User | None) -> None:
    """The password (or the username) was wrong: the slot stays taken; the last one locks the pair."""
    row = LoginLockout.objects.select_for_update().filter(pk=attempt.lockout_id).first()
    who = user.get_username() if user is not None else "an unknown username"
    if row is None:  # a success from the same pair cleared it meanwhile
        logger.warning("Failed login for %s from %s.", who, attempt.address)
        return
    if user is not None and row.user_id is None:
        row.user = user
        row.save(update_fields=["user"])
    limit = failures_allowed()
    logger.warning("Failed login for %s from %s (%d of %d).", who, attempt.address, row.attempts, limit)
    if row.attempts < limit or row.locked_until is not None:
        return
    row.locked_until = timezone.now() + cool_off()
    row.save(update_fields=["locked_until"])
    logger.warning(
        "Login locked for %s from %s until %s.", who, attempt.address, row.locked_until.isoformat(timespec="seconds")
    )
    if user is not None:
        record(
            actor=None,
            actor_label="anonymous",
            action=LOCKED_OUT,
            obj=user,
            payload={"address": attempt.address, "failures": row.attempts, "locked_until": row.locked_until},
        )


def attempt_succeeded(attempt: Attempt) -> None:
    """The right password, with a slot: the pair starts afresh."""
    LoginLockout.objects.filter(pk=attempt.lockout_id).delete()


LIFTED = "auth.lockout_lifted"


@transaction.atomic
def lockout_lift(*, username: str, address: str | None = None) -> int:
    """Clear a username's failures and locks (from one address, or from all): an operator's decision
    (`manage.py lift_login_lockout`), audited when the username names an account. Answers the pairs cleared."""
    pairs = LoginLockout.objects.filter(username_digest=username_digest(username))
    if address is not None:
        pairs = pairs.filter(address=address)
    addresses = sorted(pairs.values_list("address", flat=True))
    pairs.delete()
    user = User._default_manager.filter(**{User.USERNAME_FIELD: username}).first()
    if addresses and user is not None:
        record(actor=None, action=LIFTED, obj=user, payload={"addresses": addresses})
    logger.warning("Login lockout lifted for %s from %s.", username, ", ".join(addresses) or "no address")
    return len(addresses)


def _forget_stale(now: datetime.datetime) -> None:
    """Rows whose window and lock have both run out count for nothing: the table stays as small as the
    last cool-off's failures."""
    LoginLockout.objects.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lte=now), last_attempt_at__lte=now - cool_off()
    ).delete()
