"""Celery application, and the delivery policy every task of the project uses.

Without `CELERY_BROKER_URL` the tasks run in-process (eager), so the embedded default needs no broker.

Delivery (settings, Celery section; `idempotent_task` below): a worker acknowledges a message only when
its task has finished (acks_late), so a worker that dies mid-task leaves the message to run again — on a
restarted or another worker once the broker's visibility timeout has passed, or at once as a retry when
only the pool process died. Every task is therefore idempotent (tests/worker/test_task_options.py says
why, task by task). A task failing on a passing database error is retried; a pool process lost in a task
(killed, out of memory) counts as such a failure too (retry_on_worker_lost), so a message that fails
every time, whichever way, runs at most MAX_RETRIES + 1 times and is then given up, not looped.

Everything a delivered message waits for before it is acknowledged — its countdown, then its run, cut
off at its time limit — stays inside the broker's redelivery deadline (`broker_deadline_seconds`), or the
broker would hand the same message to a second worker while the first still runs it.
"""

import os

from celery import Celery
from django.db import InterfaceError, OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")

app = Celery("governance")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

MAX_RETRIES = 3
# Errors that pass (the database restarting, a lock timeout, a dropped connection): worth a retry. Any
# other error is a bug, and running the same message again would only fail again.
RETRYABLE_ERRORS = (OperationalError, InterfaceError)
# Seconds between the soft time limit (SoftTimeLimitExceeded inside the task: it rolls back and fails)
# and the hard one (the pool process is killed; the message is acknowledged as failed, not redelivered).
HARD_LIMIT_GRACE_SECONDS = 30
# RabbitMQ closes the channel of a delivery unacknowledged for longer than its consumer_timeout (30 min
# by default), Redis redelivers it after the visibility timeout (settings): a message's countdown plus
# its run must end within both, whichever broker is configured.
RABBITMQ_CONSUMER_TIMEOUT_SECONDS = 30 * 60


def idempotent_task(*, soft_time_limit: int) -> dict:
    """Celery options for a task that may run again without harm: late acknowledgement, requeued or
    retried when its worker is lost, MAX_RETRIES retries of passing database errors, and a time limit."""
    from django.conf import settings

    return {
        "acks_late": True,
        "reject_on_worker_lost": True,
        "retry_on_worker_lost": True,
        "autoretry_for": RETRYABLE_ERRORS,
        "max_retries": MAX_RETRIES,
        "default_retry_delay": settings.TASK_RETRY_DELAY_SECONDS,
        "retry_backoff": False,
        "soft_time_limit": soft_time_limit,
        "time_limit": soft_time_limit + HARD_LIMIT_GRACE_SECONDS,
    }


def broker_deadline_seconds() -> int:
    """How long a delivered message may stay unacknowledged before a broker redelivers it (or drops
    the consumer): the tighter of Redis's visibility timeout and RabbitMQ's consumer timeout."""
    from django.conf import settings

    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    return min(visibility, RABBITMQ_CONSUMER_TIMEOUT_SECONDS)
