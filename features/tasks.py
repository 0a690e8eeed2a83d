"""Background work of the registry: thin wrappers around the services of the same name."""

from celery import shared_task

from features.services import registrations_reevaluate


@shared_task(acks_late=True, reject_on_worker_lost=True, max_retries=3)
def reevaluate_registrations_in_review(signal_ids=(), identity_ids=()) -> int:
    """Idempotent: re-running it leaves the same findings."""
    return registrations_reevaluate(signal_ids=signal_ids, identity_ids=identity_ids)
