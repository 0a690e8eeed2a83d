"""Imported by the test workers only (`celery worker -I tests.worker.instrumented`), never by the app.

- Every task a worker starts is counted in Redis (db 12, flushed before each test) under
  `runs:<task name>`: the tests count executions where they happen, not log lines and not mocks.
- `poison_kills_its_worker` is a message that kills the pool process running it, every time — what an
  out-of-memory kill or a segfaulting extension does. It has the project's own delivery options
  (`governance.celery.idempotent_task`), so what the tests show of it holds for every task.
"""

import os
import signal

import redis
from celery import shared_task
from celery.signals import task_prerun

from governance.celery import idempotent_task

REDIS_URL = "redis://127.0.0.1:6379/12"  # the worker tests' own Redis database (tests/worker/conftest.py)
RUNS = "runs:{}"


@task_prerun.connect
def count_run(sender=None, **_kwargs) -> None:
    redis.Redis.from_url(REDIS_URL).incr(RUNS.format(sender.name))


@shared_task(name="tests.worker.poison_kills_its_worker", **idempotent_task(soft_time_limit=60))
def poison_kills_its_worker() -> None:
    os.kill(os.getpid(), signal.SIGKILL)
