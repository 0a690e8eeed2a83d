"""API rate limits: one budget per token (per person for sessions, per address for anonymous callers), held
in the shared cache so every web process draws on the same one; over it, 429 with Retry-After and the
API's JSON error; a new X-Forwarded-For per request buys nothing.

The last test runs gunicorn with two workers on Redis (db 5) and counts what gets through."""

from __future__ import annotations

import concurrent.futures
import logging
import os
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
import requests
from django.conf import settings as django_settings
from django.db import connection
from django.test import RequestFactory

from governance.accounts.models import TokenScope
from governance.accounts.tokens import token_issue
from governance.api import throttling
from governance.drift.benchmarks.servers import Gunicorn
from tests.security.conftest import REDIS_URL, require_services

SIGNALS = "/api/v1/signals"
WINDOW_START = 1_800_000_000.0  # a minute's (and an hour's and a day's) first second, since the epoch


@pytest.fixture
def rate(settings):
    """`rate("3/min")`: the API's throttle rate for this test."""

    def set_rate(value: str) -> int:
        settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {"DEFAULT_THROTTLE_RATES": {"api": value}}
        return throttling.parse_rate(value)[0]

    return set_rate


@pytest.fixture
def clock(monkeypatch):
    """The throttle's clock, stopped 10 s into a window; `clock.advance(seconds)` moves it."""

    class Clock:
        now = WINDOW_START + 10

        def advance(self, seconds: float) -> None:
            self.now += seconds

    stopped = Clock()
    monkeypatch.setattr(throttling, "clock", lambda: stopped.now)
    return stopped


@pytest.fixture
def bearer(administrator):
    """`bearer()`: a fresh token's Authorization header (any live token may read the catalogue)."""

    def issue(name="ci-pipeline") -> dict[str, str]:
        issued = token_issue(
            actor=administrator, name=name, scopes=[TokenScope.EVIDENCE_READ], teams=[], expires_in_days=1
        )
        return {"Authorization": f"Bearer {issued.plaintext}"}

    return issue


def statuses(client, count: int, **kwargs) -> list[int]:
    return [client.get(SIGNALS, **kwargs).status_code for _ in range(count)]


# --- in one process (the test's own cache) -----------------------------------------------------------------


@pytest.mark.django_db
def test_over_the_rate_a_token_gets_429_with_retry_after_and_the_json_error(client, bearer, rate, clock):
    limit = rate("3/min")
    headers = bearer()
    assert statuses(client, limit, headers=headers) == [200] * limit
    refused = client.get(SIGNALS, headers=headers)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "50"  # the rest of the minute
    assert refused.json() == {"code": "throttled", "detail": "Request was throttled. Expected available in 50 seconds."}
    assert "no-store" in refused["Cache-Control"]


@pytest.mark.django_db
def test_the_budget_comes_back_with_the_next_window(client, bearer, rate, clock):
    limit = rate("2/min")
    headers = bearer()
    statuses(client, limit, headers=headers)
    clock.advance(49)
    assert client.get(SIGNALS, headers=headers).status_code == 429
    clock.advance(1)
    assert statuses(client, limit, headers=headers) == [200] * limit


@pytest.mark.django_db
def test_each_token_has_its_own_budget(client, bearer, rate, clock):
    limit = rate("2/min")
    first, second = bearer("first"), bearer("second")
    statuses(client, limit, headers=first)
    assert client.get(SIGNALS, headers=first).status_code == 429
    assert client.get(SIGNALS, headers=second).status_code == 200


@pytest.mark.django_db
def test_sessions_are_counted_per_person(owner, reviewer, rate, clock):
    from django.test import Client

    limit = rate("2/min")
    laptop, phone, colleague = Client(), Client(), Client()
    laptop.force_login(owner)
    phone.force_login(owner)
    colleague.force_login(reviewer)
    assert statuses(laptop, limit) == [200] * limit
    assert phone.get(SIGNALS).status_code == 429  # the same person, another session
    assert colleague.get(SIGNALS).status_code == 200


@pytest.mark.django_db
def test_a_new_x_forwarded_for_per_request_buys_nothing(client, bearer, rate, clock):
    limit = rate("3/min")
    headers = bearer()
    answers = [client.get(SIGNALS, headers=headers, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code for n in range(10)]
    assert answers == [200] * limit + [429] * (10 - limit)


def test_anonymous_callers_are_counted_by_address_not_by_what_they_claim(settings):
    factory = RequestFactory()

    def key(remote: str, forwarded: str = "") -> str:
        request = factory.get(SIGNALS, REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
        request.auth, request.user = None, None
        return throttling.requester(request)

    assert key("203.0.113.7", "192.0.2.1") == key("203.0.113.7", "192.0.2.2") == "address:203.0.113.7"
    # One host holds a whole IPv6 /64: it is one caller.
    assert key("2001:db8:1:2::1") == key("2001:db8:1:2:ffff::9") == "address:2001:db8:1:2::/64"
    settings.TRUSTED_PROXY_COUNT = 1  # behind our proxy, the address it saw (the rightmost entry) counts
    assert key("10.0.0.2", "192.0.2.99, 203.0.113.7") == "address:203.0.113.7"


@pytest.mark.django_db
def test_the_telemetry_endpoints_are_not_throttled(client, administrator, rate, clock):
    """Shippers post thousands of batches (and the ingestion benchmark more): ingestion is outside DRF."""
    limit = rate("1/min")
    issued = token_issue(
        actor=administrator, name="shipper", scopes=[TokenScope.OBSERVATIONS_WRITE], teams=[], expires_in_days=1
    )
    headers = {"Authorization": f"Bearer {issued.plaintext}"}
    answers = {
        client.post("/api/v1/observations", b"[]", content_type="application/json", headers=headers).status_code
        for _ in range(limit + 3)
    }
    assert 429 not in answers


@pytest.mark.django_db
def test_an_unreachable_cache_does_not_take_the_api_down(client, bearer, rate, monkeypatch, caplog):
    rate("1/min")
    headers = bearer()

    def unreachable(*args, **kwargs):
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(throttling.cache, "add", unreachable)
    with caplog.at_level(logging.ERROR):
        assert statuses(client, 3, headers=headers) == [200, 200, 200]
    assert "unreachable" in caplog.text


def test_the_default_rate_leaves_room_for_the_suite_and_can_be_set_from_the_environment():
    configured = django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api"]
    assert configured == os.environ.get("GOVERNANCE_API_THROTTLE_RATE", "600/min")
    assert throttling.parse_rate("600/min") == (600, 60)
    assert throttling.parse_rate("7/day") == (7, 86400)


# --- across processes: gunicorn, two workers, one Redis -----------------------------------------------------

LIMIT = 10
REQUESTS = 3 * LIMIT
CLIENTS = 4  # concurrent callers: both sync workers are kept busy


def live_database_url() -> str:
    """The test database as a URL for the server subprocess."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"


class LoggedGunicorn(Gunicorn):
    """Gunicorn that also logs each request with the pid of the worker that answered it."""

    def __init__(self, *args, access_log: Path, **kwargs):
        super().__init__(*args, **kwargs)
        self.access_log = access_log

    def command(self) -> list[str]:
        return [*super().command(), "--access-logfile", str(self.access_log), "--access-logformat", "%(p)s %(s)s"]


def wait_for_a_quiet_day_boundary() -> None:
    """The rate is per day (windows at midnight UTC): never straddle one, or the budget would reset mid-test."""
    left = 86400 - time.time() % 86400
    if left < 120:
        time.sleep(left + 1)


@pytest.mark.django_db(transaction=True)
def test_two_workers_share_one_budget_and_rotating_x_forwarded_for_buys_nothing(administrator, tmp_path, figure):
    require_services()
    store = redis.Redis.from_url(REDIS_URL)
    store.flushdb()
    first = token_issue(
        actor=administrator, name="ci-first", scopes=[TokenScope.EVIDENCE_READ], teams=[], expires_in_days=1
    )
    second = token_issue(
        actor=administrator, name="ci-second", scopes=[TokenScope.EVIDENCE_READ], teams=[], expires_in_days=1
    )
    env = {
        "DATABASE_URL": live_database_url(),
        "CACHE_URL": REDIS_URL,
        "GOVERNANCE_API_THROTTLE_RATE": f"{LIMIT}/day",
        "GOVERNANCE_TRUSTED_PROXIES": "0",
        "APP_ENV": "development",
        "DEBUG": "0",
        "CELERY_BROKER_URL": "",
        "DATA_DIR": str(tmp_path),
        "LOG_LEVEL": "WARNING",
    }
    access_log = tmp_path / "access.log"
    wait_for_a_quiet_day_boundary()
    try:
        with LoggedGunicorn(
            "governance.wsgi",
            workers=2,
            threads=1,
            env=env,
            cwd=django_settings.BASE_DIR,
            probe_path="/login/",
            access_log=access_log,
        ) as server:
            base = f"http://127.0.0.1:{server.port}"

            def call(n: int) -> requests.Response:
                headers = {
                    "Authorization": f"Bearer {first.plaintext}",
                    "X-Forwarded-For": f"198.51.{n // 250}.{n % 250}",
                }
                return requests.get(base + SIGNALS, headers=headers, timeout=30)

            with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
                answers = list(pool.map(call, range(REQUESTS)))
            other_token = requests.get(
                base + SIGNALS, headers={"Authorization": f"Bearer {second.plaintext}"}, timeout=30
            )
    finally:
        store.flushdb()
        store.close()

    let_through = [answer for answer in answers if answer.status_code != 429]
    refused = [answer for answer in answers if answer.status_code == 429]
    assert len(let_through) == LIMIT, [answer.status_code for answer in answers]
    assert {answer.status_code for answer in let_through} == {200}
    for answer in refused:
        assert 1 <= int(answer.headers["Retry-After"]) <= 86400
        assert answer.json()["code"] == "throttled"
    assert other_token.status_code == 200  # the budget is the token's, not the server's
    served_by = {
        pid
        for pid, status in (line.split() for line in access_log.read_text().splitlines())
        if status in ("200", "429")
    }
    assert len(served_by) == 2, f"one worker answered everything: {served_by}"
    pids = ", ".join(sorted(pid.strip("<>") for pid in served_by))
    figure(
        f"API throttle: gunicorn 2 workers (pids {pids}) on Redis, {REQUESTS} requests "
        f"with {REQUESTS} different X-Forwarded-For from {CLIENTS} concurrent clients: {len(let_through)} let through "
        f"(limit {LIMIT}), {len(refused)} × 429 with Retry-After; another token still served"
    )
