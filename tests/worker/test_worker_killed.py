"""A worker killed (SIGKILL) in the middle of its work: after a restart nothing is lost and nothing is
counted twice. Twice over: killed while folding staged batches of observations into the edges and days
(ingestion's half that a worker does, for batches a web process left staged), and killed in the middle
of a drift evaluation.

"In the middle" is made certain without a test hook in the code: the test holds, from its own database
session, a lock the worker's transaction needs after it has claimed its work (a row of an observed edge
for the fold; drift evaluation's advisory lock for the evaluation), and kills the whole worker while
pg_locks shows it waiting there. The dead worker's session is rolled back and the work is unclaimed
again. Its message was never acknowledged (acks_late), so once the broker's visibility timeout has
passed a restarted worker takes the same message and finishes the work.
"""

import re
import time
from contextlib import contextmanager

import pytest
from django.db import connection
from psycopg import sql

from features.models import Finding, FindingSource, FindingStatus
from governance.audit.models import AuditEvent
from governance.drift import ingest
from governance.drift.models import DriftPending, IngestBatch, ObservedEdge, StagedBatch
from governance.drift.tasks import evaluate_pending_drift
from tests.worker.conftest import (
    database_url,
    day_counts,
    edge_counts,
    evaluation_lock_held,
    evaluation_lock_waiter,
    observation,
    separate_session,
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


def wait_for_redelivery(client, worker) -> str:
    """Sleep until the killed worker's unacknowledged message is due again; return its task id."""
    (task_id,) = TASK_ID.findall(worker.text())
    (delivered,) = [score for _tag, score in client.zrange(UNACKED_INDEX, 0, -1, withscores=True)]
    time.sleep(max(0.0, delivered + VISIBILITY_TIMEOUT + 0.5 - time.time()))
    return task_id


def unclaimed(session, model) -> int:
    """Rows of `model` no other transaction has taken: a fold deletes the staged batches it takes, an
    evaluation the pending keys it claims, and either locks them until it ends."""
    table = sql.Identifier(model._meta.db_table)
    return len(session.execute(sql.SQL("SELECT 1 FROM {} FOR UPDATE SKIP LOCKED").format(table)).fetchall())


@contextmanager
def edge_row_locked(feature_key: str, signal: str):
    """Lock one observed edge's row from a separate session (a fold adding to it waits for us); yields the
    session, whose pid `waiting_on` looks for. Leaving the block ends the session and the lock."""
    with separate_session(autocommit=False) as session:
        table = sql.Identifier(ObservedEdge._meta.db_table)
        session.execute(
            sql.SQL("SELECT 1 FROM {} WHERE feature_key = %s AND signal = %s FOR UPDATE").format(table),
            [feature_key, signal],
        )
        yield session


def waiting_on(session) -> int | None:
    """The server pid of a session waiting for a lock `session` holds, if any (asked on Django's own
    connection: inside `session`'s open transaction, pg_stat_activity would answer from a snapshot)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [session.info.backend_pid]
        )
        row = cursor.fetchone()
    return row[0] if row else None


def web_process_stops_folding(monkeypatch) -> None:
    """From now on the live server answers each batch once staged and never folds it, as a web process
    killed right after answering leaves its batches: folding them is left to the drift task, in a worker."""
    monkeypatch.setattr(ingest, "fold_staged_observations", lambda **_options: None)
    monkeypatch.setattr(ingest._folder, "fold", lambda **_options: None)


def test_a_worker_killed_mid_fold_loses_nothing_and_counts_nothing_twice(
    on_redis, start_worker, approve_feature, send, monkeypatch
):
    approve_feature("reco-locale", signals=("locale",))
    # One batch ingested in full: its edges exist, and it schedules the drift task (a message for a worker).
    send([observation("reco-locale", "locale", 1), observation("reco-locale", "language", 1)], key="b-0")
    web_process_stops_folding(monkeypatch)
    batches = {
        f"b-{n}": [observation("reco-locale", "locale", 10 + n), observation("reco-locale", "language", 1 + n)]
        for n in range(1, 4)
    }
    answers = {key: send(items, key=key) for key, items in batches.items()}
    before = {("reco-locale", "locale"): 1, ("reco-locale", "language"): 1}
    sent = {("reco-locale", "locale"): 1 + 11 + 12 + 13, ("reco-locale", "language"): 1 + 2 + 3 + 4}
    assert edge_counts() == before and StagedBatch.objects.count() == 3  # answered, staged, not folded

    # The worker's backend notices its client is gone while it waits (it would otherwise finish the
    # statement once the lock is free, and commit: also correct, but not "killed in the middle").
    worker_database = database_url(client_connection_check_interval="100ms")
    with edge_row_locked("reco-locale", "locale") as session:
        first = start_worker(DATABASE_URL=worker_database, GOVERNANCE_CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT))
        waiter = wait_for(lambda: waiting_on(session), what="the worker to wait inside its fold")
        # In the middle: the fold has taken every staged batch (deleted, uncommitted) and waits to add to
        # the locked edge; nothing of it is visible outside its transaction.
        assert unclaimed(session, StagedBatch) == 0
        assert StagedBatch.objects.count() == 3
        assert edge_counts() == before

        first.kill()
        assert first.process.returncode == -9
        wait_for(lambda: session_gone(waiter), what="the killed worker's database session to end")
        # Rolled back: the three batches are staged again, unclaimed; the edges never saw them.
        assert unclaimed(session, StagedBatch) == 3
        assert edge_counts() == before
    task_id = wait_for_redelivery(on_redis, first)
    assert "succeeded" not in first.text()

    # A shipper that never saw its answer retries a batch: the stored answer, nothing staged again.
    assert send(batches["b-2"], key="b-2") == answers["b-2"]
    assert StagedBatch.objects.count() == 3
    assert IngestBatch.objects.count() == 4

    second = start_worker(DATABASE_URL=worker_database, GOVERNANCE_CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT))
    wait_for(lambda: f"[{task_id}] succeeded" in second.text(), what="the restarted worker to run the message")

    assert edge_counts() == sent
    assert day_counts() == sent
    assert not StagedBatch.objects.exists()
    findings = Finding.objects.filter(source=FindingSource.DRIFT)
    assert [(f.feature_key, f.fingerprint, f.status) for f in findings] == [
        ("reco-locale", "undeclared-signal|language", FindingStatus.OPEN)
    ]
    assert AuditEvent.objects.filter(action="drift.opened", payload__feature="reco-locale").count() == 1


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
        assert unclaimed(session, DriftPending) == 0

        first.kill()
        assert first.process.returncode == -9

    # The lock is released: the dead worker's session finds its client gone and rolls back.
    wait_for(lambda: session_gone(waiter), what="the killed worker's database session to end")
    assert list(DriftPending.objects.values_list("feature_key", flat=True)) == ["reco-locale"]
    assert not Finding.objects.filter(source=FindingSource.DRIFT).exists()
    assert not AuditEvent.objects.filter(action__startswith="drift.").exists()
    assert "succeeded" not in first.text()

    # A shipper that never saw its answer retries a batch with the same Idempotency-Key: the stored
    # answer, and nothing counted again (nor any new evaluation scheduled).
    assert send(batches["b-1"], key="b-1") == answers["b-1"]
    assert edge_counts() == sent
    assert IngestBatch.objects.count() == 3

    # The message is still unacknowledged in Redis; once the visibility timeout has passed a restarted
    # worker restores it on start, and runs it.
    task_id = wait_for_redelivery(on_redis, first)
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
