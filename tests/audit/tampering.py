"""Helpers for tests that play the attacker: change the audit table behind the application's back."""

from contextlib import contextmanager

from django.db import connection

from governance.audit.models import AuditEvent


@contextmanager
def append_only_triggers_lifted():
    """On PostgreSQL, disable the audit table's triggers (as its owner) for the block; elsewhere a no-op."""
    if connection.vendor != "postgresql":
        yield
        return
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    with connection.cursor() as cursor:
        # Foreign-key checks deferred to the end of the test's transaction would block the ALTER.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def tamper(sequence: int, **changes) -> None:
    with append_only_triggers_lifted():
        assert AuditEvent.objects.filter(sequence=sequence).update(**changes) == 1


def remove(*sequences: int) -> None:
    with append_only_triggers_lifted():
        AuditEvent.objects.filter(sequence__in=sequences).delete()
