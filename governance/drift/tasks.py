"""Drift work in the background: thin wrappers around `governance.drift.evaluate`. All idempotent."""

from celery import shared_task

from governance.drift.evaluate import evaluate_drift
from governance.drift.scheduling import claim_pending


@shared_task(acks_late=True, reject_on_worker_lost=True, max_retries=3, default_retry_delay=10)
def evaluate_pending_drift() -> int:
    """Evaluate every feature with new observations since the last run; returns how many."""
    keys = claim_pending()
    if keys:
        evaluate_drift(keys)
    return len(keys)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def sweep_drift() -> dict:
    """Periodic: evaluate every feature and every observed key (resolves stale paths, unused signals)."""
    result = evaluate_drift(None)
    return result.as_dict()
