"""Observed data paths: raw telemetry is folded into edges and daily counts, never kept as events.

Edges name features, identities, signals and destinations by the strings the telemetry carried, not by
foreign keys: drift is precisely about paths the registry does not know (shadow features, undeclared
identities and signals).

Ingestion finds an edge by `path_hash`, a 64-bit digest of its five names, rather than by the five names
themselves: one bigint comparison per index step instead of up to five collated string comparisons (see
`governance.drift.ingest`). The model keeps it in step on `save()` and `bulk_create()`; the five names
stay unique together as well, so a path is one row whatever computed its digest.
"""

import hashlib
from functools import lru_cache

from django.db import models

PATH_FIELDS = ("feature_key", "service_identity", "signal", "destination", "environment")


@lru_cache(maxsize=65_536)  # paths repeat: ingestion asks for the same few thousand again and again
def path_hash(feature_key: str, service_identity: str, signal: str, destination: str, environment: str) -> int:
    """The key of a path: BLAKE2b-64 of its five names (joined by the unit separator, which no name may
    contain), as a signed bigint."""
    joined = "\x1f".join((feature_key, service_identity, signal, destination, environment))
    return int.from_bytes(hashlib.blake2b(joined.encode(), digest_size=8).digest(), "big", signed=True)


class ObservedEdgeQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for edge in objs:
            edge.path_hash = edge.compute_path_hash()
        return super().bulk_create(objs, *args, **kwargs)


class ObservedEdge(models.Model):
    """One observed data path (feature, identity, signal, destination, environment) and its totals."""

    path_hash = models.BigIntegerField(unique=True, editable=False)
    feature_key = models.CharField(max_length=80)
    service_identity = models.CharField(max_length=120)
    signal = models.CharField(max_length=80)
    destination = models.CharField(max_length=120)
    environment = models.CharField(max_length=40)
    count = models.BigIntegerField(default=0)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    max_credential_ttl_seconds = models.BigIntegerField(null=True, blank=True)

    objects = ObservedEdgeQuerySet.as_manager()

    class Meta:
        # No index holds a column ingestion updates (count, first/last seen, ttl), so its updates are
        # heap-only (HOT): no index is written. Lookups by feature key use the unique index's first column.
        constraints = [models.UniqueConstraint(fields=PATH_FIELDS, name="one_edge_per_path")]
        indexes = [models.Index(fields=["service_identity"])]

    def __str__(self) -> str:
        return f"{self.feature_key}: {self.service_identity} → {self.signal} → {self.destination} ({self.environment})"

    def save(self, *args, **kwargs):
        self.path_hash = self.compute_path_hash()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and set(update_fields) & set(PATH_FIELDS):
            kwargs["update_fields"] = {*update_fields, "path_hash"}
        super().save(*args, **kwargs)

    def compute_path_hash(self) -> int:
        return path_hash(*(getattr(self, field) for field in PATH_FIELDS))


class ObservedDay(models.Model):
    """How often one edge was observed on one day (UTC), for charts and "unused for N days"."""

    # No index of its own: the unique (edge, day) index serves lookups by edge.
    edge = models.ForeignKey(ObservedEdge, on_delete=models.CASCADE, related_name="days", db_index=False)
    day = models.DateField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["edge", "day"], name="one_count_per_edge_day")]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.edge_id} {self.day}: {self.count}"


class IngestBatch(models.Model):
    """A batch received under an Idempotency-Key: a retry with the same body gets the same answer."""

    token = models.ForeignKey("accounts.ApiToken", on_delete=models.CASCADE, related_name="+")
    idempotency_key = models.CharField(max_length=200)
    body_sha256 = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "idempotency_key"], name="one_batch_per_key"),
        ]

    def __str__(self) -> str:
        return f"{self.token_id}:{self.idempotency_key}"


class DriftPending(models.Model):
    """A feature key whose drift needs evaluating; many batches for one feature make one evaluation."""

    feature_key = models.CharField(max_length=80, unique=True)
    since = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.feature_key


class StagedBatch(models.Model):
    """An accepted batch waiting to be added to the edges and days, already folded per path and day
    (PostgreSQL only); `governance.drift.ingest` writes it and folds it, and says why.

    On PostgreSQL the table also has array columns (one element per path, or per path and day) that only
    that module's SQL writes and reads: arrays have no portable field, so migration 0003 adds them there.
    On SQLite ingestion writes edges directly and the table stays empty.
    """

    received_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"staged batch {self.pk} ({self.received_at:%Y-%m-%d %H:%M:%S})"
