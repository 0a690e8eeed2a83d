"""A worker killed (SIGKILL) in the middle of a drift evaluation: after a restart nothing is lost and
nothing is counted twice.

"In the middle" is made certain without a test hook in the code: the test holds drift evaluation's
advisory lock from its own database session, so the worker's task claims the pending key (deleting its
DriftPending row, uncommitted) and then waits for the lock inside its transaction, where pg_locks shows
it waiting. The test kills the whole worker there, then lets the lock go: the dead worker's session is
rolled back and the key is pending again. Its message was never acknowledged (acks_late), so once the
broker's visibility timeout has passed a restarted worker takes the same message and finishes the work.
"""

import re
import time

import pytest
from django.db import connection
from psycopg import sql

from features.models import Finding, FindingSource, FindingStatus
from governance.audit.models import AuditEvent
from governance.drift.models import DriftPending, IngestBatch
from governance.drift.tasks import evaluate_pending_drift
from tests.worker.conftest import (
    day_counts,
    edge_counts,
    evaluation_lock_held,
    evaluation_lock_waiter,
    observation,
    wait_for,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

VISIBILITY_TIMEOUT = 6  # seconds, for these workers (production: an hour)
TASK_ID = re.compile(rf"Task {re.escape(evaluate_pending_drift.name)}\[([0-9a-f-]+)\] received")
UNACKED_INDEX = "unacked_index"  # kombu's Redis transport: delivered, unacknowledged messages by delivery time


def session_gone(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %s)", [pid])
        return cursor.fetchone()[0]


def test_a_worker_killed_mid_evaluation_loses_nothing_and_counts_nothing_twice(
    on_redis, start_worker, approve_feature, send
):
    approve_feature("reco-locale", signals=("locale",))
    batches = {
        f"b-{n}": [observation("reco-locale", "locale", 10 + n), observation("reco-locale", "language", 1 + n)]
        for n in range(3)
    }
    sent = {("reco-locale", "locale"): 10 + 11 + 12, ("reco-locale", "language"): 1 + 2 + 3}

    with evaluation_lock_held() as session:
        answers = {key: send(items, key=key) for key, items in batches.items()}
        assert edge_counts() == sent  # ingested in the request, before any worker ran
        assert DriftPending.objects.count() == 1  # three batches, one feature: one pending evaluation

        first = start_worker(GOVERNANCE_CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT))
        waiter = wait_for(lambda: evaluation_lock_waiter(session), what="the worker to wait inside its evaluation")
        # In the middle: the worker has claimed the pending key (its row is locked and deleted by the
        # worker's open transaction) and waits for the lock before judging and writing anything.
        assert DriftPending.objects.count() == 1
        free = sql.SQL("SELECT feature_key FROM {} FOR UPDATE SKIP LOCKED").format(
            sql.Identifier(DriftPending._meta.db_table)
        )
        assert session.execute(free).fetchall() == []

        first.kill()
        assert first.process.returncode == -9

    # The lock is released: the dead worker's session finds its client gone and rolls back.
    wait_for(lambda: session_gone(waiter), what="the killed worker's database session to end")
    assert list(DriftPending.objects.values_list("feature_key", flat=True)) == ["reco-locale"]
    assert not Finding.objects.filter(source=FindingSource.DRIFT).exists()
    assert not AuditEvent.objects.filter(action__startswith="drift.").exists()
    (task_id,) = TASK_ID.findall(first.text())
    assert "succeeded" not in first.text()

    # A shipper that never saw its answer retries a batch with the same Idempotency-Key: the stored
    # answer, and nothing counted again (nor any new evaluation scheduled).
    assert send(batches["b-1"], key="b-1") == answers["b-1"]
    assert edge_counts() == sent
    assert IngestBatch.objects.count() == 3

    # The message is still unacknowledged in Redis; once the visibility timeout has passed a restarted
    # worker restores it on start, and runs it.
    (delivered,) = [score for _tag, score in on_redis.zrange(UNACKED_INDEX, 0, -1, withscores=True)]
    time.sleep(max(0.0, delivered + VISIBILITY_TIMEOUT + 0.5 - time.time()))
    second = start_worker(GOVERNANCE_CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT))
    wait_for(lambda: f"[{task_id}] succeeded" in second.text(), what="the restarted worker to run the message")

    findings = Finding.objects.filter(source=FindingSource.DRIFT)
    assert [(f.feature_key, f.fingerprint, f.status) for f in findings] == [
        ("reco-locale", "undeclared-signal|language", FindingStatus.OPEN)
    ]
    assert AuditEvent.objects.filter(action="drift.opened", payload__feature="reco-locale").count() == 1
    assert not DriftPending.objects.exists()
    assert edge_counts() == sent
    assert day_counts() == sent
    assert on_redis.zcard(UNACKED_INDEX) == 0  # acknowledged this time
    assert second.text().count("succeeded") == 1
