"""Every registered background task's delivery and retry options, read from the tasks and the settings
(no worker needed: runs everywhere). A new task fails here until it says why running it twice is safe.

What the options promise is shown with real workers in test_poison_message.py, test_real_worker.py and
test_worker_killed.py.
"""

import ast
import importlib
import importlib.util
from pathlib import Path

import celery
from celery import Task
from django.apps import apps
from django.conf import settings

from governance.celery import MAX_RETRIES, RETRYABLE_ERRORS, app, broker_deadline_seconds
from governance.drift import scheduling, tasks

ROOT = Path(__file__).resolve().parents[2]

# Why each task may run again without harm (acks_late redelivers a message whose worker died mid-task).
IDEMPOTENT = {
    "governance.drift.tasks.evaluate_pending_drift": (
        "claims pending keys in the transaction that writes the findings: a failed or killed run leaves "
        "them pending, a finished one leaves nothing to claim"
    ),
    "governance.drift.tasks.sweep_drift": "judges the current state; findings are kept by fingerprint",
    "governance.drift.tasks.expire_ingest_batches": "deletes what is past retention; a rerun finds nothing",
    "governance.evidence.tasks.build_evidence_pack": (
        "a settled pack is left alone; an interrupted build restarts from nothing, its ZIP named only when whole"
    ),
    "governance.reviews.tasks.sweep_reviews": (
        "re-review findings are get_or_create'd by fingerprint; owners are emailed only when one is created"
    ),
    "features.tasks.reevaluate_registrations_in_review": "stores the engine's verdict: a rerun changes nothing",
}
# Tasks that must never run twice would be acknowledged before running (at most once), with the reason
# here. There are none.
AT_MOST_ONCE: dict[str, str] = {}
CELERY_BUILTIN = "celery."  # Celery's canvas and cleanup tasks: this project sends none of them

# Every countdown or ETA a message is sent with, by the module that sends it: what it waits in a worker.
COUNTDOWNS = {tasks.evaluate_pending_drift.name: scheduling.COALESCE_SECONDS}


def project_tasks() -> dict:
    for config in apps.get_app_configs():  # what the worker's autodiscovery imports
        if importlib.util.find_spec(f"{config.name}.tasks"):
            importlib.import_module(f"{config.name}.tasks")
    return {name: task for name, task in app.tasks.items() if not name.startswith(CELERY_BUILTIN)}


def longest_retry_delay(task) -> float:
    """The longest a retry waits, as Celery's autoretry computes it (backoff: doubling up to a maximum)."""
    if getattr(task, "retry_backoff", False):
        factor = 1 if task.retry_backoff is True else task.retry_backoff
        return min(getattr(task, "retry_backoff_max", 600), factor * 2**task.max_retries)
    return getattr(task, "retry_kwargs", {}).get("countdown", task.default_retry_delay)


def test_every_task_says_whether_it_may_run_twice():
    assert set(project_tasks()) == set(IDEMPOTENT) | set(AT_MOST_ONCE)
    assert not set(IDEMPOTENT) & set(AT_MOST_ONCE)


def test_idempotent_tasks_are_acknowledged_late_and_run_again_when_their_worker_is_lost():
    for name, task in project_tasks().items():
        idempotent = name in IDEMPOTENT
        assert task.acks_late is idempotent, name
        assert task.reject_on_worker_lost is idempotent, name  # the whole worker died: redelivered
        assert task.retry_on_worker_lost is idempotent, name  # its pool process died: retried (counted)


def test_this_celery_counts_a_lost_worker_process_as_a_retry():
    """retry_on_worker_lost came with Celery 5.7; an older Celery would accept the option and ignore it,
    and a message that kills its worker would be requeued forever."""
    assert "retry_on_worker_lost" in vars(Task), celery.__version__


def test_new_tasks_get_the_same_delivery_by_default():
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    assert settings.CELERY_TASK_RETRY_ON_WORKER_LOST
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1  # a worker holds no message it is not running


def test_failing_tasks_are_retried_a_bounded_number_of_times_and_only_for_passing_errors():
    for name, task in project_tasks().items():
        # max_retries also bounds the runs of a message that kills its pool process (retry_on_worker_lost).
        assert task.max_retries == MAX_RETRIES == 3, name
        # A bug fails the same way every time: retrying it would only run a poison message again.
        assert set(task.autoretry_for) <= set(RETRYABLE_ERRORS), name
        assert Exception not in task.autoretry_for, name


def test_a_message_never_waits_in_a_worker_past_the_brokers_redelivery_deadline():
    """Redis redelivers a message left unacknowledged for its visibility timeout (RabbitMQ drops the
    consumer after its consumer timeout): a message's longest wait in a worker — its countdown or retry
    delay, then its run, cut off at the hard time limit — must end first, or a second worker runs it."""
    deadline = broker_deadline_seconds()
    assert deadline == min(settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"], 30 * 60)
    for name, task in project_tasks().items():
        assert task.soft_time_limit and task.time_limit and task.soft_time_limit < task.time_limit, name
        wait = max(longest_retry_delay(task), COUNTDOWNS.get(name, 0))
        assert wait + task.time_limit < deadline, (name, wait, task.time_limit, deadline)


def test_the_only_countdown_in_the_code_is_the_one_checked_above():
    """Every `countdown=` or `eta=` passed when sending a task, anywhere in the app: a new one must be
    added to COUNTDOWNS (and so to the deadline check)."""
    found = set()
    for path in [*ROOT.joinpath("governance").rglob("*.py"), *ROOT.joinpath("features").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg in {"countdown", "eta"}:
                        found.add((str(path.relative_to(ROOT)), keyword.arg, ast.unparse(keyword.value)))
    assert found == {("governance/drift/scheduling.py", "countdown", "COALESCE_SECONDS")}


def test_periodic_tasks_are_registered_drift_is_swept_hourly_and_idempotency_keys_expire_daily():
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in IDEMPOTENT
    every = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert every[tasks.sweep_drift.name] == 3600  # drift: the periodic sweep (stale paths, unused signals)
    assert every[tasks.expire_ingest_batches.name] == 24 * 3600
