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


@contextmanager
def triggers_off_as_superuser():
    """Switch every trigger off for this session, as only a superuser may (`session_replication_role`);
    on SQLite there is none to switch off."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's pending foreign-key checks, first
        cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def superuser_sql(statement: str, params=()) -> int:
    """Run raw SQL on the audit table (`{table}` in `statement`) with triggers off; the rows it touched."""
    with triggers_off_as_superuser(), connection.cursor() as cursor:
        cursor.execute(statement.format(table=connection.ops.quote_name(AuditEvent._meta.db_table)), params)
        return cursor.rowcount
