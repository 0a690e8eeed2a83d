"""Observed data paths: raw telemetry is folded into edges and daily counts, never kept as events.

Edges name features, identities, signals and destinations by the strings the telemetry carried, not by
foreign keys: drift is precisely about paths the registry does not know (shadow features, undeclared
identities and signals).
"""

from django.db import models


class ObservedEdge(models.Model):
    """One observed data path (feature, identity, signal, destination, environment) and its totals."""

    feature_key = models.CharField(max_length=80)
    service_identity = models.CharField(max_length=120)
    signal = models.CharField(max_length=80)
    destination = models.CharField(max_length=120)
    environment = models.CharField(max_length=40)
    count = models.BigIntegerField(default=0)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    max_credential_ttl_seconds = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["feature_key", "service_identity", "signal", "destination", "environment"],
                name="one_edge_per_path",
            )
        ]
        indexes = [models.Index(fields=["feature_key", "last_seen"]), models.Index(fields=["service_identity"])]

    def __str__(self) -> str:
        return f"{self.feature_key}: {self.service_identity} → {self.signal} → {self.destination} ({self.environment})"


class ObservedDay(models.Model):
    """How often one edge was observed on one day (UTC), for charts and "unused for N days"."""

    edge = models.ForeignKey(ObservedEdge, on_delete=models.CASCADE, related_name="days")
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
