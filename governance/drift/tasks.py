"""Drift work in the background: thin wrappers around `governance.drift.evaluate` and `.maintenance`.

Every task is idempotent, because a message may run again: workers acknowledge a message only when its
task has finished (acks_late), so a worker killed mid-task leaves the message to be delivered again, to a
restarted or another worker, after the broker's visibility timeout (settings, Celery section).

A task that fails on a passing database error (the database restarting, a lock timeout), or whose pool
process dies, is retried `governance.celery.MAX_RETRIES` times, `settings.TASK_RETRY_DELAY_SECONDS` apart,
then given up: a message that fails every time runs at most MAX_RETRIES + 1 times (`governance.celery`).
Any other error is a bug and is not retried. Giving up loses nothing: pending drift stays pending (the
next evaluation takes it) and the periodic sweeps cover the rest.
"""

from celery import shared_task
from django.db import transaction

from governance.celery import idempotent_task
from governance.drift.evaluate import drift_sweep, evaluate_drift
from governance.drift.ingest import fold_staged_observations
from governance.drift.maintenance import ingest_batches_expire
from governance.drift.scheduling import claim_pending


@shared_task(**idempotent_task(soft_time_limit=5 * 60))
def evaluate_pending_drift() -> int:
    """Evaluate every feature with new observations since the last run; returns how many.

    The keys are claimed in the same transaction as the evaluation's writes: if the evaluation fails or
    its worker dies, the claim is rolled back with it and the keys are pending again for the retry or
    the redelivered message. (Ingestion marking a key being evaluated waits for that commit.) Batches
    still staged (say, by a web process that died before folding them) are folded first.
    """
    fold_staged_observations(wait=True)
    with transaction.atomic():
        keys = claim_pending()
        if keys:
            evaluate_drift(keys)
    return len(keys)


@shared_task(**idempotent_task(soft_time_limit=15 * 60))
def sweep_drift() -> dict:
    """Periodic: evaluate every feature and every observed key (resolves stale paths, unused signals),
    after folding whatever ingestion left staged."""
    return drift_sweep().as_dict()


@shared_task(**idempotent_task(soft_time_limit=5 * 60))
def expire_ingest_batches() -> int:
    """Periodic (daily): forget idempotency keys past their retention; returns how many."""
    return ingest_batches_expire()
