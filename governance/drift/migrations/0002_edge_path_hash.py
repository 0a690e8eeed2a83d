"""Edges get `path_hash` (BLAKE2b-64 of their five names), the key ingestion upserts by. Two indexes that
ingestion maintained without needing them go: (feature_key, last_seen), whose last_seen kept edge updates
from being heap-only, and observed day's own edge index, which the unique (edge, day) index covers."""

import hashlib

import django.db.models.deletion
from django.db import migrations, models


def path_hash(*names: str) -> int:
    # As governance.drift.models.path_hash at the time of this migration.
    return int.from_bytes(hashlib.blake2b("\x1f".join(names).encode(), digest_size=8).digest(), "big", signed=True)


def fill_path_hashes(apps, schema_editor):
    edges = apps.get_model("drift", "ObservedEdge").objects.using(schema_editor.connection.alias)
    fields = ("feature_key", "service_identity", "signal", "destination", "environment")
    batch = []
    for edge in edges.only("pk", *fields).order_by("pk").iterator(chunk_size=2000):
        edge.path_hash = path_hash(*(getattr(edge, field) for field in fields))
        batch.append(edge)
        if len(batch) == 2000:
            edges.bulk_update(batch, ["path_hash"])
            batch = []
    edges.bulk_update(batch, ["path_hash"])


class Migration(migrations.Migration):
    dependencies = [
        ("drift", "0001_initial"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="observededge", name="drift_obser_feature_6fbba5_idx"),
        migrations.AddField(
            model_name="observededge",
            name="path_hash",
            field=models.BigIntegerField(editable=False, null=True),
        ),
        migrations.RunPython(fill_path_hashes, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="observededge",
            name="path_hash",
            field=models.BigIntegerField(editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name="observedday",
            name="edge",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="days",
                to="drift.observededge",
            ),
        ),
    ]
