"""Shared by the security tests: the figures they report at the end of the run (README, "Security and
reliability"), a clean cache per test, and the services the cross-process tests need."""

from __future__ import annotations

from collections import Counter

import pytest
from django.core.cache import cache

from tests.services import require_postgresql_and_redis

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


def require_services() -> None:
    """The cross-process tests need PostgreSQL and Redis (tests/services.py)."""
    require_postgresql_and_redis(REDIS_URL, "a cross-process test")
