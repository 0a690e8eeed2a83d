from celery import shared_task

from governance.reviews.expiry import review_sweep


@shared_task(acks_late=True, reject_on_worker_lost=True)
def sweep_reviews() -> dict:
    """Daily: expired approvals get a re-review finding; lapsed acceptances reopen. Idempotent."""
    result = review_sweep()
    return {"approvals_expired": result.approvals_expired, "acceptances_lapsed": result.acceptances_lapsed}
