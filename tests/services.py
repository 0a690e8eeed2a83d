"""The services some tests need beyond the test database (PostgreSQL, Redis, tools), and what happens when
one is missing: the test skips on a developer's machine, but fails when GOVERNANCE_WORKER_TESTS=required
(CI's PostgreSQL pass sets it), so a missing service can never pass CI as a silent skip."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest
import redis
from django.db import connection


def skip_or_fail(reason: str) -> NoReturn:
    """Skip the test for `reason`, or fail it under GOVERNANCE_WORKER_TESTS=required."""
    if os.environ.get("GOVERNANCE_WORKER_TESTS") == "required":
        pytest.fail(f"GOVERNANCE_WORKER_TESTS=required, but {reason}")
    pytest.skip(reason)


def postgresql_and_redis_missing(redis_url: str) -> str | None:
    """Why a test that runs the app in another process cannot run here, or None: that process cannot share
    SQLite's in-memory test database, and it meets the test's process in Redis."""
    if connection.vendor != "postgresql":
        return "it needs PostgreSQL (DATABASE_URL): another process cannot share SQLite's in-memory test database"
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        return f"it needs Redis on 127.0.0.1:6379 ({error})"
    return None


def require_postgresql_and_redis(redis_url: str, test: str) -> None:
    """Go on only with PostgreSQL and Redis (see `skip_or_fail`); `test` names the kind of test in the reason."""
    missing = postgresql_and_redis_missing(redis_url)
    if missing is not None:
        skip_or_fail(f"{test}: {missing}")
