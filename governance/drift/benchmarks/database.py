"""The benchmark's own PostgreSQL database: created fresh, migrated, seeded, checked, dropped.

The benchmark never touches the database `DATABASE_URL` names: it uses the same server (and credentials)
to create `governance_bench` beside it, and points Django's connection there for its own queries.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import psycopg
from django.db import connection, connections

BENCH_DATABASE = "governance_bench"
DRIFT_TABLES = (
    "drift_observedday",
    "drift_observededge",
    "drift_ingestbatch",
    "drift_driftpending",
    "drift_stagedbatch",
)


class NotPostgreSQL(Exception):
    """DATABASE_URL does not name a PostgreSQL database."""


def postgresql_url(url: str | None) -> str:
    """The URL itself, if it names PostgreSQL (else NotPostgreSQL)."""
    if not url or "postgresql" not in dj_database_url.parse(url)["ENGINE"]:
        raise NotPostgreSQL("benchmark_ingest needs DATABASE_URL=postgres://user@host:5432/name (PostgreSQL).")
    return url


def with_database(url: str, name: str) -> str:
    """The same server and credentials, another database."""
    return urlsplit(url)._replace(path=f"/{name}").geturl()


def recreate(url: str) -> None:
    """Drop the bench database if it exists and create it empty."""
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {BENCH_DATABASE}")


def drop(url: str) -> None:
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")


def migrate(bench_url: str, cwd: Path) -> None:
    """`manage.py migrate` in a subprocess, pointed at the bench database."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=cwd,
        env={**os.environ, "DATABASE_URL": bench_url},
        check=True,
    )


@contextmanager
def django_using(name: str) -> Iterator[None]:
    """Point Django's default connection at database `name` (same server) while the block runs."""
    wrapper = connections["default"]
    original = wrapper.settings_dict["NAME"]
    wrapper.close()
    wrapper.settings_dict["NAME"] = name
    try:
        yield
    finally:
        wrapper.close()
        wrapper.settings_dict["NAME"] = original


def execute(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


def truncate_drift() -> None:
    """Empty the observed paths, stored batches and pending marks: each run starts from the same state."""
    execute(f"TRUNCATE {', '.join(DRIFT_TABLES)}")


@dataclass(frozen=True)
class Totals:
    """What the tables hold after a run."""

    rows: int
    count: int
    days_count: int = 0
    batches: int = 0
    pending: int = 0
    staged: int = 0  # batches accepted but not yet folded into edges and days


def drift_totals() -> Totals:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT (SELECT count(*) FROM drift_observededge),
                      (SELECT coalesce(sum("count"), 0) FROM drift_observededge),
                      (SELECT coalesce(sum("count"), 0) FROM drift_observedday),
                      (SELECT count(*) FROM drift_ingestbatch),
                      (SELECT count(*) FROM drift_driftpending),
                      (SELECT count(*) FROM drift_stagedbatch)"""
        )
        return Totals(*cursor.fetchone())


def reference_totals() -> Totals:
    with connection.cursor() as cursor:
        cursor.execute('SELECT count(*), coalesce(sum("count"), 0) FROM bench_raw')
        return Totals(*cursor.fetchone())
