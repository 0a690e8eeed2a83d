"""Shared by the security tests: the figures they report at the end of the run (README, "Security and
reliability"), a clean cache per test, and the services the cross-process tests need."""

from __future__ import annotations

import os
from collections import Counter

import pytest
import redis
from django.core.cache import cache
from django.db import connection

FIGURES = pytest.StashKey[list[str]]()
WALK = pytest.StashKey[dict[str, tuple[bool, str]]]()  # route → (passed, how it answered): the header walks
REDIS_URL = "redis://127.0.0.1:6379/5"  # the security tests' own Redis database: flushed, nothing else


def pytest_configure(config):
    config.stash[FIGURES] = []


def pytest_terminal_summary(terminalreporter, config):
    figures = list(config.stash.get(FIGURES, []))
    walked = config.stash.get(WALK, {})
    if walked:
        from tests.permissions import known_routes

        kinds = Counter(kind for _, kind in walked.values())
        figures.insert(
            0,
            f"header walk: {len(walked)} routes checked, {sum(passed for passed, _ in walked.values())} passing "
            f"(the resolver knows {len(known_routes())}, admin's own pages aside; answered as: "
            + ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
            + ")",
        )
    if figures:
        terminalreporter.section("security figures")
        for line in figures:
            terminalreporter.write_line(line)


@pytest.fixture
def figure(request):
    """`figure("…")`: report a measured figure in the run's summary (call it once the asserts passed)."""
    return request.config.stash[FIGURES].append


@pytest.fixture
def walked(request):
    """`walked(route, passed, kind)`: count a route in the header walk's figure."""

    def record(route: str, passed: bool, kind: str = "") -> None:
        request.config.stash.setdefault(WALK, {})[route] = (passed, kind)

    return record


@pytest.fixture(autouse=True)
def fresh_cache():
    """Throttle counters live in the cache: every test starts with none."""
    cache.clear()
    yield
    cache.clear()


def services_missing() -> str | None:
    """Why a test across processes cannot run here, or None."""
    if connection.vendor != "postgresql":
        return "needs PostgreSQL (DATABASE_URL): a server subprocess cannot share SQLite's in-memory test database"
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        return f"needs Redis on 127.0.0.1:6379 ({error})"
    return None


def require_services() -> None:
    """Skip without PostgreSQL and Redis, unless GOVERNANCE_WORKER_TESTS=required (CI's PostgreSQL pass):
    there the test fails instead, so it cannot silently skip."""
    missing = services_missing()
    if missing is None:
        return
    if os.environ.get("GOVERNANCE_WORKER_TESTS") == "required":
        pytest.fail(f"GOVERNANCE_WORKER_TESTS=required, but this cross-process test {missing}")
    pytest.skip(f"Cross-process test {missing}")
