"""Login brute force: after the configured failures for a username from an address, even the right
password is refused there (saying so, not whether it was right) until the cool-off has passed; other
addresses are not affected, and a forged X-Forwarded-For changes nothing."""

from __future__ import annotations

import datetime
import logging

import pytest
from django.utils import timezone

from governance.accounts import lockout
from governance.accounts.forms import AdminLoginForm, LoginForm
from governance.accounts.models import LoginLockout
from governance.audit.models import AuditEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.7"
ELSEWHERE = "198.51.100.9"
PROXY = "10.0.0.2"
WRONG = "not-the-password-at-all"
PAUSED = "Too many failed logins for this username from your address"


@pytest.fixture
def clock(monkeypatch):
    """Time travel: `clock.advance(seconds=…)` moves Django's clock (`timezone.now`) forward."""

    class Clock:
        def __init__(self):
            self.now = timezone.now()

        def advance(self, **delta):
            self.now += datetime.timedelta(**delta)

    travelling = Clock()
    monkeypatch.setattr(timezone, "now", lambda: travelling.now)
    return travelling


def log_in(client, username, password, address=ATTACKER, path="/login/", **headers):
    """POST the login form; answers (logged in?, the form's errors as text)."""
    response = client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address, **headers)
    logged_in = response.status_code == 302 and "_auth_user_id" in client.session
    errors = " ".join(response.context["form"].non_field_errors()) if response.status_code == 200 else ""
    client.logout()
    return logged_in, errors


def fail(client, username, times, **kwargs):
    for _ in range(times):
        assert log_in(client, username, WRONG, **kwargs)[0] is False


def limit(settings) -> int:
    return settings.LOGIN_LOCKOUT["FAILURES"]


def cool_off(settings) -> int:
    return settings.LOGIN_LOCKOUT["COOL_OFF_SECONDS"]


def test_the_login_pages_use_the_lockout_forms(client):
    from django.contrib import admin

    assert isinstance(client.get("/login/").context["form"], LoginForm)
    assert admin.site.login_form is AdminLoginForm


def test_the_right_password_is_refused_after_the_failures_and_the_message_does_not_tell(
    client, owner, settings, figure
):
    fail(client, "owner", limit(settings))
    right = log_in(client, "owner", PASSWORD)
    wrong = log_in(client, "owner", WRONG)
    assert right[0] is False
    assert PAUSED in right[1]
    assert right == wrong  # the same answer, word for word, whichever password was typed
    figure(
        f"login lockout: the right password is refused after {limit(settings)} failures (same message as a wrong one)"
    )


def test_fewer_failures_than_the_limit_do_not_lock(client, owner, settings):
    fail(client, "owner", limit(settings) - 1)
    assert log_in(client, "owner", PASSWORD) == (True, "")


def test_the_limit_and_the_cool_off_are_settings(client, owner, settings, clock):
    settings.LOGIN_LOCKOUT = {"FAILURES": 2, "COOL_OFF_SECONDS": 60}
    fail(client, "owner", 2)
    assert log_in(client, "owner", PASSWORD)[0] is False
    clock.advance(seconds=61)
    assert log_in(client, "owner", PASSWORD)[0] is True


def test_the_lock_lifts_when_the_cool_off_has_passed_and_not_before(client, owner, settings, clock, figure):
    fail(client, "owner", limit(settings))
    clock.advance(seconds=cool_off(settings) - 1)
    refused = log_in(client, "owner", PASSWORD)
    assert refused[0] is False
    assert PAUSED in refused[1]
    assert "1 more minute" in refused[1]
    clock.advance(seconds=1)
    assert log_in(client, "owner", PASSWORD) == (True, "")
    figure(
        f"login lockout: still refused at {cool_off(settings) - 1} s of cool-off, "
        f"the right password accepted at {cool_off(settings)} s"
    )


def test_after_the_cool_off_the_count_starts_afresh(client, owner, settings, clock):
    fail(client, "owner", limit(settings))
    clock.advance(seconds=cool_off(settings))
    fail(client, "owner", limit(settings) - 1)
    assert log_in(client, "owner", PASSWORD)[0] is True


def test_failures_spread_wider_than_the_cool_off_do_not_add_up(client, owner, settings, clock):
    fail(client, "owner", limit(settings) - 1)
    clock.advance(seconds=cool_off(settings) + 1)
    fail(client, "owner", limit(settings) - 1)
    assert log_in(client, "owner", PASSWORD)[0] is True


def test_a_success_clears_the_count(client, owner, settings):
    fail(client, "owner", limit(settings) - 1)
    assert log_in(client, "owner", PASSWORD)[0] is True
    fail(client, "owner", limit(settings) - 1)
    assert log_in(client, "owner", PASSWORD)[0] is True
    assert not LoginLockout.objects.exists()


def test_an_attacker_cannot_lock_the_person_out_from_another_address(client, owner, settings, figure):
    fail(client, "owner", limit(settings), address=ATTACKER)
    assert log_in(client, "owner", PASSWORD, address=ATTACKER)[0] is False
    assert log_in(client, "owner", PASSWORD, address=ELSEWHERE) == (True, "")
    figure(f"login lockout: locked from {ATTACKER}, the same person logs in from {ELSEWHERE}")


def test_rotating_x_forwarded_for_does_not_buy_fresh_attempts(client, owner, settings, figure):
    for attempt in range(limit(settings)):
        assert not log_in(client, "owner", WRONG, HTTP_X_FORWARDED_FOR=f"192.0.2.{attempt}")[0]
    assert log_in(client, "owner", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.200")[0] is False
    figure("login lockout: a new X-Forwarded-For per attempt changes nothing (REMOTE_ADDR counts, no trusted proxy)")


def test_behind_a_trusted_proxy_the_forwarded_address_counts(client, owner, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # What the client writes itself (left of the proxy's entry) is not believed.
    forged = {"HTTP_X_FORWARDED_FOR": f"192.0.2.99, {ATTACKER}"}
    fail(client, "owner", limit(settings), address=PROXY, **forged)
    assert log_in(client, "owner", PASSWORD, address=PROXY, HTTP_X_FORWARDED_FOR=ATTACKER)[0] is False
    assert log_in(client, "owner", PASSWORD, address=PROXY, HTTP_X_FORWARDED_FOR=ELSEWHERE)[0] is True


def test_an_unknown_username_is_locked_the_same_way(client, owner, settings):
    fail(client, "nobody-here", limit(settings))
    locked = log_in(client, "nobody-here", WRONG)
    fail(client, "owner", limit(settings))
    assert locked == log_in(client, "owner", WRONG)  # no difference tells whether an account exists


def test_the_username_is_matched_whatever_its_case(client, owner, settings):
    fail(client, "OWNER", limit(settings))
    assert log_in(client, "owner", PASSWORD)[0] is False


def test_the_admin_login_is_locked_too(client, administrator, settings):
    fail(client, "admin", limit(settings), path="/admin/login/")
    logged_in, errors = log_in(client, "admin", PASSWORD, path="/admin/login/")
    assert logged_in is False
    assert PAUSED in errors


def test_parallel_guesses_get_only_the_allowed_checks(settings):
    """Each attempt takes its slot before its password is checked: a burst gets `FAILURES` checks."""
    taken, refused = [], 0
    for _ in range(limit(settings) * 3):
        try:
            taken.append(lockout.attempt_start(username="owner", address=ATTACKER))
        except lockout.LockedOut:
            refused += 1
    assert (len(taken), refused) == (limit(settings), limit(settings) * 2)


def test_a_lockout_is_audited_and_logged_without_the_password(client, owner, settings, caplog, figure):
    caplog.set_level(logging.INFO)
    fail(client, "owner", limit(settings))
    log_in(client, "owner", PASSWORD)
    event = AuditEvent.objects.get(action=lockout.LOCKED_OUT)
    assert (event.object_type, event.object_id, event.actor_label) == ("accounts.user", str(owner.pk), "anonymous")
    assert event.payload["address"] == ATTACKER
    assert event.payload["failures"] == limit(settings)
    assert "Login locked for owner from 203.0.113.7" in caplog.text
    assert caplog.text.count("Failed login for owner from 203.0.113.7") == limit(settings)
    for secret in (PASSWORD, WRONG):
        assert secret not in caplog.text
        assert secret not in event.payload_text
    figure("login lockout: audited (auth.locked_out) and logged, no password in either")


def test_a_username_that_names_no_account_is_never_logged_or_stored_as_typed(client, settings, caplog):
    """People type passwords into the username box: such a value must not reach a log line or a row."""
    caplog.set_level(logging.INFO)
    typed = "Tr0ub4dor&3-typed-in-the-wrong-box"
    fail(client, typed, limit(settings))
    assert typed not in caplog.text
    assert "Login locked for an unknown username from 203.0.113.7" in caplog.text
    row = LoginLockout.objects.get()
    assert typed not in str(vars(row))
    assert not AuditEvent.objects.filter(action=lockout.LOCKED_OUT).exists()


def test_an_operator_can_lift_a_lockout_and_it_is_audited(client, owner, settings):
    from django.core.management import call_command

    fail(client, "owner", limit(settings))
    call_command("lift_login_lockout", "owner")
    assert log_in(client, "owner", PASSWORD) == (True, "")
    event = AuditEvent.objects.get(action=lockout.LIFTED)
    assert (event.object_id, event.payload["addresses"]) == (str(owner.pk), [ATTACKER])
