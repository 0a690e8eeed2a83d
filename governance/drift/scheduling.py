"""Coalescing drift evaluation: many ingested batches for a feature make one evaluation, not one each.

Ingestion marks feature keys as pending (a set, in the database) and makes sure one evaluation task is
on its way (a short-lived flag in the shared cache). The task clears the flag, claims every pending key
and evaluates those features together. A batch arriving while the task runs marks its keys again and
schedules the next task, so nothing is missed and nothing waits longer than one window.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction

from governance.drift.models import DriftPending

SCHEDULED_FLAG = "drift:evaluation-scheduled"
COALESCE_SECONDS = 5


def request_drift_evaluation(feature_keys: Iterable[str]) -> None:
    """Mark these features for drift evaluation once the current transaction commits."""
    keys = sorted(set(feature_keys))
    if not keys:
        return
    DriftPending.objects.bulk_create([DriftPending(feature_key=key) for key in keys], ignore_conflicts=True)
    transaction.on_commit(schedule_pending_evaluation)


def schedule_pending_evaluation() -> None:
    from governance.drift.tasks import evaluate_pending_drift

    if cache.add(SCHEDULED_FLAG, 1, timeout=COALESCE_SECONDS * 4):
        evaluate_pending_drift.apply_async(countdown=COALESCE_SECONDS)


@transaction.atomic
def claim_pending() -> list[str]:
    """Take every pending key (each claimed by exactly one task, even with several workers)."""
    cache.delete(SCHEDULED_FLAG)
    pending = DriftPending.objects.select_for_update(skip_locked=True)
    keys = list(pending.values_list("feature_key", flat=True))
    DriftPending.objects.filter(feature_key__in=keys).delete()
    return keys
