"""The background tasks' delivery and retry options (no worker needed: runs everywhere)."""

from django.conf import settings

from governance.drift import scheduling, tasks

TASKS = (tasks.evaluate_pending_drift, tasks.sweep_drift, tasks.expire_ingest_batches)


def test_tasks_are_acknowledged_late_and_retried_a_bounded_number_of_times():
    for task in TASKS:
        assert task.acks_late and task.reject_on_worker_lost, task.name
        assert task.max_retries == tasks.MAX_RETRIES == 3, task.name
        assert task.autoretry_for == tasks.RELIABLE["autoretry_for"], task.name


def test_a_waiting_message_is_never_handed_to_a_second_worker():
    """Redis redelivers a message unacknowledged for the visibility timeout: every delay a message waits
    in a worker (a retry's countdown, the coalescing window) must be well inside it."""
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    for task in TASKS:
        assert task.default_retry_delay == settings.TASK_RETRY_DELAY_SECONDS < visibility / 10
    assert visibility > 10 * scheduling.COALESCE_SECONDS


def test_idempotency_keys_expire_daily():
    schedule = settings.CELERY_BEAT_SCHEDULE["expire-ingest-batches-daily"]
    assert schedule == {"task": tasks.expire_ingest_batches.name, "schedule": 24 * 3600}
