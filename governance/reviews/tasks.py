from celery import shared_task

from governance.celery import idempotent_task
from governance.reviews.expiry import review_sweep


@shared_task(**idempotent_task(soft_time_limit=10 * 60))
def sweep_reviews() -> dict:
    """Daily: expired approvals get a re-review finding; lapsed acceptances reopen. Idempotent."""
    result = review_sweep()
    return {"approvals_expired": result.approvals_expired, "acceptances_lapsed": result.acceptances_lapsed}
