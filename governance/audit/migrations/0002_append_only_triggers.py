"""On PostgreSQL the audit table refuses UPDATE, DELETE and TRUNCATE, whoever asks.

SQLite has no such guard here; there the hash chain still shows any change. The `flush` command of
this app lifts the triggers for its own transaction only, so test runs and `manage.py flush` work.
"""

from django.db import migrations

FUNCTION = "audit_event_refuse_change"

INSTALL = """
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation',
              HINT = 'Record a new event instead of changing or removing an old one.';
END;
$$;
CREATE TRIGGER audit_event_refuse_update_delete
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {function}();
CREATE TRIGGER audit_event_refuse_truncate
    BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
"""

REMOVE = """
DROP TRIGGER IF EXISTS audit_event_refuse_truncate ON {table};
DROP TRIGGER IF EXISTS audit_event_refuse_update_delete ON {table};
DROP FUNCTION IF EXISTS {function}();
"""


def _run(sql: str, apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("audit", "AuditEvent")._meta.db_table)
    schema_editor.execute(sql.format(table=table, function=FUNCTION), params=None)


def install_triggers(apps, schema_editor) -> None:
    _run(INSTALL, apps, schema_editor)


def remove_triggers(apps, schema_editor) -> None:
    _run(REMOVE, apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(install_triggers, remove_triggers, elidable=False)]
