"""Housekeeping for ingestion's own records.

An `Idempotency-Key` is honoured for `IDEMPOTENCY_RETENTION_DAYS` (30) days: a batch retried within that
time with the same key gets the stored answer and counts once; after it, its `IngestBatch` row is deleted
by the daily `expire_ingest_batches` task and the same key would count again. Shippers retry within
minutes or hours, so a month is far beyond any retry, and the table stays one row per batch per month.
"""

from __future__ import annotations

import datetime
import logging

from django.db import transaction
from django.utils import timezone

from governance.drift.models import IngestBatch

IDEMPOTENCY_RETENTION_DAYS = 30
EXPIRE_CHUNK = 5_000  # rows per DELETE: short transactions, however far behind the job is

logger = logging.getLogger(__name__)


def ingest_batches_expire(older_than_days: int = IDEMPOTENCY_RETENTION_DAYS, *, now=None) -> int:
    """Delete the idempotency records received more than `older_than_days` ago; returns how many."""
    if older_than_days < 1:
        raise ValueError("older_than_days must be at least 1: a retried batch must still find its key.")
    cutoff = (now or timezone.now()) - datetime.timedelta(days=older_than_days)
    expired = IngestBatch.objects.filter(received_at__lt=cutoff)
    deleted = 0
    while True:
        with transaction.atomic():
            chunk = list(expired.order_by("pk").values_list("pk", flat=True)[:EXPIRE_CHUNK])
            if not chunk:
                break
            deleted += IngestBatch.objects.filter(pk__in=chunk).delete()[0]
    if deleted:
        logger.info("Expired %d idempotency records received before %s.", deleted, cutoff.isoformat())
    return deleted
