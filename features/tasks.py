"""Background work of the registry: thin wrappers around the services of the same name."""

from celery import shared_task

from features.services import registrations_reevaluate
from governance.celery import idempotent_task


@shared_task(**idempotent_task(soft_time_limit=10 * 60))
def reevaluate_registrations_in_review(signal_ids=(), identity_ids=()) -> int:
    """Idempotent: re-running it leaves the same findings."""
    return registrations_reevaluate(signal_ids=signal_ids, identity_ids=identity_ids)
