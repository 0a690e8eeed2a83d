"""On PostgreSQL the database itself refuses to change or remove audit events (migration 0002)."""

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from governance.audit.chain import record, verify
from governance.audit.models import AuditEvent

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the append-only triggers exist on PostgreSQL only (set DATABASE_URL to a PostgreSQL URL)",
    ),
]


def refused(sql: str) -> str:
    """Run the SQL in a savepoint; return the database's error message."""
    with pytest.raises(DatabaseError) as refusal, transaction.atomic(), connection.cursor() as cursor:
        # Run the test's deferred foreign-key checks first: TRUNCATE refuses to run while they pend.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(sql)
    return str(refusal.value)


@pytest.fixture
def event(db):
    return record(actor=None, action="feature.created", payload={"tier": 1})


def test_database_refuses_update(event):
    assert "audit events are append-only" in refused("UPDATE audit_auditevent SET action = 'forged'")
    assert AuditEvent.objects.get().action == "feature.created"


def test_database_refuses_update_through_the_orm(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(payload={"tier": 3})


def test_database_refuses_delete(event):
    assert "audit events are append-only" in refused("DELETE FROM audit_auditevent")
    assert AuditEvent.objects.count() == 1


def test_database_refuses_truncate(event):
    assert "audit events are append-only" in refused("TRUNCATE audit_auditevent")
    assert AuditEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_trail_and_leaves_it_append_only():
    record(actor=None, action="feature.created")
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEvent.objects.exists()
    record(actor=None, action="feature.created")
    assert "audit events are append-only" in refused("DELETE FROM audit_auditevent")
    assert verify().ok
