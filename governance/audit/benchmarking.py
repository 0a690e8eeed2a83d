"""Synthetic audit trails for measuring verification: the real chain, written set-based.

`append_synthetic_events` computes each event's hash in Python exactly as `chain.record` does and writes
the rows in bulk (COPY on PostgreSQL, batched INSERTs elsewhere), continuing the current chain under its
lock. A hundred thousand events take seconds instead of the minutes `record` would, one at a time. For
benchmarks and tests only, inside a transaction their caller rolls back (`benchmark_audit_verify` does):
these events record nothing that happened.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

from django.db import connection, transaction

from governance.audit.chain import _lock_chain, canonical_json, event_hash, head
from governance.audit.models import AuditEvent

ACTION = "benchmark.synthetic"
ACTOR = "benchmark"
BATCH = 10_000
COLUMNS = (
    "sequence",
    "occurred_at",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "object_label",
    "payload",
    "prev_hash",
    "hash",
)


def _rows(first: int, count: int, prev_hash: str, start: datetime.datetime) -> Iterator[dict]:
    for offset in range(count):
        sequence = first + offset
        row = {
            "sequence": sequence,
            "occurred_at": start + datetime.timedelta(milliseconds=offset),
            "actor_label": ACTOR,
            "action": ACTION,
            "object_type": "features.feature",
            "object_id": str(sequence % 997),
            "object_label": f"synthetic feature {sequence % 997}",
            "payload": {"n": sequence, "tier": sequence % 4, "note": "synthetic"},
            "prev_hash": prev_hash,
        }
        row["hash"] = prev_hash = event_hash(**row)
        yield row


def _copy(rows: Iterator[dict]) -> None:
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(name) for name in COLUMNS)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            row["payload"] = canonical_json(row["payload"])
            copy.write_row([row[name] for name in COLUMNS])


def _insert(rows: Iterator[dict]) -> None:
    batch = []
    for row in rows:
        batch.append(AuditEvent(**row))
        if len(batch) == BATCH:
            AuditEvent.objects.bulk_create(batch)
            batch = []
    AuditEvent.objects.bulk_create(batch)


def append_synthetic_events(count: int, *, start: datetime.datetime | None = None) -> tuple[int, str]:
    """Append `count` chained events after the current head; return the new head (sequence, hash)."""
    start = start or datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    with transaction.atomic():
        _lock_chain()
        last_sequence, last_hash = head()
        rows = _rows(last_sequence + 1, count, last_hash, start)
        (_copy if connection.vendor == "postgresql" else _insert)(rows)
        return head()
