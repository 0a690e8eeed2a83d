"""`manage.py flush`, able to empty the audit table too.

On PostgreSQL the audit table refuses TRUNCATE (migration 0002), which would make Django's flush, and so
every transactional test's teardown, fail. Flushing erases the whole database on purpose, so this
command lifts the audit triggers for its own transaction only: other sessions never see them lifted,
and if the flush fails the triggers were never off.
"""

from django.core.management.commands.flush import Command as DjangoFlush
from django.db import connections, transaction

from governance.audit.models import AuditEvent


class Command(DjangoFlush):
    help = DjangoFlush.help + " The audit trail is emptied too."

    def handle(self, **options):
        connection = connections[options["database"]]
        table = AuditEvent._meta.db_table
        if connection.vendor != "postgresql" or table not in connection.introspection.table_names():
            return super().handle(**options)
        quoted = connection.ops.quote_name(table)
        with transaction.atomic(using=options["database"]):
            with connection.cursor() as cursor:
                cursor.execute(f"ALTER TABLE {quoted} DISABLE TRIGGER USER")
            super().handle(**options)
            with connection.cursor() as cursor:
                cursor.execute(f"ALTER TABLE {quoted} ENABLE TRIGGER USER")
