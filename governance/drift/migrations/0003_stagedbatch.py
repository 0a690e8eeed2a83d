"""The staging table of ingestion on PostgreSQL (see `governance.drift.ingest`): accepted batches, folded
per path and day into arrays, wait here until a fold adds them to the edges and days; and room on the
edge and day tables' pages for the fold's updates.

Arrays have no portable field: the model declares the table's id and time, and on PostgreSQL this adds the
array columns by SQL. They are stored out of line uncompressed (STORAGE EXTERNAL): a row is written once and
read once, so compressing it would cost more CPU than the bytes it saves.
"""

from django.db import migrations, models

# One row per batch: its feature keys; per path, its hash, joined names, count, first and last seen and
# longest credential lifetime (NULL elements where none was reported); per path and day, hash, day, count.
ARRAYS = {
    "feature_keys": "text[]",
    "path_hash": "bigint[]",
    "names": "text[]",
    "n": "bigint[]",
    "first_seen": "timestamptz[]",
    "last_seen": "timestamptz[]",
    "ttl": "bigint[]",
    "day_path_hash": "bigint[]",
    "day": "date[]",
    "day_n": "bigint[]",
}


# Folding updates the same edge and day rows again and again: with room left on each page, PostgreSQL
# writes the new row version beside the old one without touching any index (a heap-only update), five
# times cheaper here than when every update must also insert into the edge's three indexes.
FILLFACTOR = {"drift_observededge": 50, "drift_observedday": 50}


def add_arrays(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, percent in FILLFACTOR.items():
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {percent})")
    columns = ", ".join(f'ADD COLUMN "{name}" {kind} NOT NULL' for name, kind in ARRAYS.items())
    schema_editor.execute(f"ALTER TABLE drift_stagedbatch {columns}")
    storage = ", ".join(f'ALTER COLUMN "{name}" SET STORAGE EXTERNAL' for name in ARRAYS)
    schema_editor.execute(f"ALTER TABLE drift_stagedbatch {storage}")


def drop_arrays(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    columns = ", ".join(f'DROP COLUMN "{name}"' for name in ARRAYS)
    schema_editor.execute(f"ALTER TABLE drift_stagedbatch {columns}")
    for table in FILLFACTOR:
        schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("drift", "0002_edge_path_hash"),
    ]

    operations = [
        migrations.CreateModel(
            name="StagedBatch",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("received_at", models.DateTimeField()),
            ],
        ),
        migrations.RunPython(add_arrays, drop_arrays),
    ]
