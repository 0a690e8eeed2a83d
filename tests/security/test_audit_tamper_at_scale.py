"""Verifying a 100,000-event trail, and finding a one-row change near its end, on PostgreSQL.

The events are the real chain, written set-based (governance/audit/benchmarking.py: hashes computed in
Python, rows sent with COPY), so the test takes seconds. Verification streams the table in chunks (see
tests/audit/test_verify_streaming.py for its memory). The time is reported in pytest's "security
figures" summary, not asserted: the bound lives in `manage.py benchmark_audit_verify`.
"""

import time

import pytest
from django.db import connection

from governance.audit.benchmarking import append_synthetic_events
from governance.audit.chain import verify
from tests.audit.tampering import superuser_sql

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="measured on PostgreSQL (set DATABASE_URL to a PostgreSQL URL)"
    ),
]

EVENTS = 100_000
TAMPERED = 99_990


def test_a_100k_event_trail_verifies_and_a_change_near_its_end_is_found_at_its_event(figure):
    started = time.perf_counter()
    head = append_synthetic_events(EVENTS)
    written = time.perf_counter() - started

    started = time.perf_counter()
    intact = verify()
    seconds = time.perf_counter() - started
    assert (intact.ok, intact.checked, (intact.head_sequence, intact.head_hash)) == (True, EVENTS, head)

    assert superuser_sql("""UPDATE {table} SET payload = '{{"n": 0}}' WHERE sequence = %s""", [TAMPERED]) == 1
    started = time.perf_counter()
    broken = verify()
    seconds_to_find = time.perf_counter() - started
    assert (broken.ok, broken.first_broken_sequence, broken.checked) == (False, TAMPERED, TAMPERED - 1)

    figure(
        f"audit verification (PostgreSQL): {EVENTS:,} events verified in {seconds:.2f} s "
        f"({EVENTS / seconds:,.0f} events/s, streaming, chunks of 5,000); a one-row UPDATE at event "
        f"{TAMPERED:,} found at that event in {seconds_to_find:.2f} s (trail written with COPY in {written:.1f} s)"
    )
