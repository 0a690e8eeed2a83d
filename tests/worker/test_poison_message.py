"""Poison messages with a real worker: a message that fails every time, whichever way it fails, runs a
bounded number of times and is then dropped — it never loops, and never blocks the queue behind it.

Each run is counted by the worker itself as it starts the task (tests/worker/instrumented.py), in Redis.
"""

import pytest

from governance.celery import MAX_RETRIES
from governance.evidence.tasks import build_evidence_pack
from tests.worker.conftest import messages_left, runs, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

KILLER = "tests.worker.poison_kills_its_worker"  # registered in the test workers only


def test_a_payload_that_makes_a_task_raise_runs_once_and_is_dropped(on_redis, start_worker):
    worker = start_worker(GOVERNANCE_TASK_RETRY_DELAY="1")

    result = build_evidence_pack.delay("not-a-pack-id")  # a bug's error, not a passing one: no retry

    wait_for(lambda: f"[{result.id}] raised unexpected: ValueError" in worker.text(), what="the task to fail")
    assert runs(on_redis, build_evidence_pack.name) == 1
    # Acknowledged as failed: not left to be redelivered after the visibility timeout.
    wait_for(lambda: messages_left(on_redis) == 0, what="the message to be acknowledged as failed")
    build_evidence_pack.delay(0)  # a pack that does not exist: the worker goes on with the next message
    wait_for(lambda: runs(on_redis, build_evidence_pack.name) == 2, what="the next message to run")
    wait_for(lambda: " succeeded in " in worker.text(), what="the next message to succeed")


def test_a_message_that_kills_its_worker_process_runs_max_retries_plus_one_times(on_redis, start_worker):
    """reject_on_worker_lost alone would requeue it forever; retry_on_worker_lost counts each loss as a
    retry, so it is given up after max_retries + 1 runs, and the worker stays up for other messages."""
    from governance.celery import app

    worker = start_worker(GOVERNANCE_TASK_RETRY_DELAY="1")

    result = app.send_task(KILLER)

    # Given up: no retry this time, the loss is the task's failure. (The worker notices a lost pool
    # process within 5 s, on its pool maintenance timer: four losses take up to 25 s.)
    given_up = "Task handler raised error: WorkerLostError('Worker exited prematurely: signal 9 (SIGKILL)"
    wait_for(lambda: given_up in worker.text(), timeout=60, what="the task to be given up")
    assert runs(on_redis, KILLER) == MAX_RETRIES + 1
    assert worker.text().count(f"[{result.id}] retry: Retry in 1s: WorkerLostError") == MAX_RETRIES
    wait_for(lambda: messages_left(on_redis) == 0, what="the message to be acknowledged as failed")
    assert worker.process.poll() is None  # only pool processes died; the worker replaced each one
    build_evidence_pack.delay(0)
    wait_for(lambda: runs(on_redis, build_evidence_pack.name) == 1, what="the next message to run")
    assert runs(on_redis, KILLER) == MAX_RETRIES + 1  # and the poison never came back
