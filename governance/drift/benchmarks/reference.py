"""The minimal reference endpoint: what a batch costs with no validation, idempotency or aggregation.

Read the body, `orjson.loads`, one COPY of the rows into `bench_raw`, commit, answer {"accepted": n}.
`manage.py benchmark_ingest` runs it under gunicorn with the real app's server settings, on the same
events, so the ratio of the two says what the real hot path costs on top of the bare minimum.
Run: `DATABASE_URL=postgres://… gunicorn governance.drift.benchmarks.reference:application`.
"""

from __future__ import annotations

import os
import threading
from operator import itemgetter

import orjson
import psycopg

TABLE_DDL = """
CREATE TABLE IF NOT EXISTS bench_raw (
    feature text, service_identity text, signal text, destination text, environment text,
    observed_at timestamptz, "count" int
)
"""
COPY = 'COPY bench_raw (feature, service_identity, signal, destination, environment, observed_at, "count") FROM STDIN'
_row = itemgetter("feature", "service_identity", "signal", "destination", "environment", "observed_at")
_local = threading.local()  # one connection per worker thread (gthread workers run several)


def _connection() -> psycopg.Connection:
    connection = getattr(_local, "connection", None)
    if connection is None or connection.closed:
        connection = _local.connection = psycopg.connect(os.environ["DATABASE_URL"])
    return connection


def _answer(start_response, status: str, body: dict) -> list[bytes]:
    payload = orjson.dumps(body)
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def application(environ, start_response):
    """POST a JSON array of observations; every item is stored as it came."""
    if environ["REQUEST_METHOD"] != "POST":
        return _answer(start_response, "405 Method Not Allowed", {"error": "POST a JSON array"})
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    items = orjson.loads(body)
    connection = _connection()
    with connection.cursor() as cursor, cursor.copy(COPY) as copy:
        for item in items:
            copy.write_row((*_row(item), item.get("count", 1)))
    connection.commit()
    return _answer(start_response, "200 OK", {"accepted": len(items)})
