"""A real Celery worker (prefork, Redis broker, PostgreSQL), not eager: observations posted to the live
endpoint are ingested in the request, and the worker evaluates their drift, coalesced, with bounded retries."""

import re
import time

import pytest

from features.models import Finding, FindingSource, FindingStatus
from governance.audit.models import AuditEvent
from governance.celery import MAX_RETRIES
from governance.drift.models import DriftPending
from governance.drift.tasks import evaluate_pending_drift
from tests.worker.conftest import (
    database_url,
    edge_counts,
    evaluation_lock_held,
    evaluation_lock_waiter,
    messages_left,
    observation,
    runs,
    wait_for,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TASK = evaluate_pending_drift.name
SUCCEEDED = re.compile(rf"Task {re.escape(TASK)}\[[0-9a-f-]+\] succeeded in [0-9.]+s: (\d+)")


def drift_findings(key: str):
    return Finding.objects.filter(source=FindingSource.DRIFT, feature_key=key)


def test_the_worker_evaluates_drift_of_observations_ingested_by_the_endpoint(
    on_redis, start_worker, approve_feature, send
):
    approve_feature("reco-locale", signals=("locale",))
    worker = start_worker()

    answer = send([observation("reco-locale", "locale", 3), observation("reco-locale", "language", 2)], key="b-1")

    assert answer == {"accepted": 2, "rejected": []}
    # Ingestion happened in the request; drift is the worker's, a little later.
    assert edge_counts() == {("reco-locale", "locale"): 3, ("reco-locale", "language"): 2}
    finding = wait_for(lambda: drift_findings("reco-locale").first(), what="the worker's drift finding")
    assert (finding.rule_id, finding.fingerprint, finding.status) == (
        "undeclared-signal",
        "undeclared-signal|language",
        FindingStatus.OPEN,
    )
    assert drift_findings("reco-locale").count() == 1
    wait_for(lambda: SUCCEEDED.findall(worker.text()), what="the worker to log the evaluation")
    assert SUCCEEDED.findall(worker.text()) == ["1"]  # it ran there (one feature evaluated), not here
    assert not DriftPending.objects.exists()


def test_the_worker_judges_a_feature_again_after_its_approval(on_redis, start_worker, owner, team, reviewer, send):
    from tests.reviews.support import approve, file_feature

    registration = file_feature(owner, team, key="reco-locale")  # declares locale, read by reco-reader
    worker = start_worker()
    send([observation("reco-locale", "locale", 3), observation("reco-locale", "language", 2)], key="b-1")
    shadow = wait_for(
        lambda: drift_findings("reco-locale").filter(rule_id="shadow-feature").first(),
        what="the shadow-feature finding of a feature in review",
    )

    approve(reviewer, registration)

    wait_for(
        lambda: drift_findings("reco-locale").filter(pk=shadow.pk, status=FindingStatus.RESOLVED).exists(),
        what="the worker to resolve the shadow feature once approved",
    )
    wait_for(
        lambda: drift_findings("reco-locale").filter(rule_id="undeclared-signal", status=FindingStatus.OPEN).exists(),
        what="the worker to judge the approved version: language was never declared",
    )
    wait_for(lambda: len(SUCCEEDED.findall(worker.text())) == 2, what="the worker to log both evaluations")
    assert SUCCEEDED.findall(worker.text()) == ["1", "1"]  # after ingestion, after approval: both in the worker
    assert not DriftPending.objects.exists()


def test_batches_arriving_together_are_evaluated_together(on_redis, start_worker, approve_feature, send):
    approve_feature("reco-locale", signals=("locale",))
    worker = start_worker()

    for n in range(5):  # each batch brings a new undeclared signal, so each evaluation would say so
        send([observation("reco-locale", f"extra_{n}")], key=f"b-{n}")

    wait_for(lambda: drift_findings("reco-locale").count() == 5, what="five undeclared-signal findings")
    wait_for(lambda: not DriftPending.objects.exists(), what="nothing left pending")
    evaluations = SUCCEEDED.findall(worker.text())
    opened = AuditEvent.objects.filter(action="drift.opened", payload__feature="reco-locale")
    assert 1 <= len(evaluations) < 5
    assert 1 <= opened.count() < 5
    assert sum(event.payload["count"] for event in opened) == 5  # every finding opened once


def test_a_task_failing_every_time_runs_at_most_max_retries_plus_one_times(
    on_redis, start_worker, approve_feature, send
):
    approve_feature("reco-locale", signals=("locale",))
    # Every evaluation waits at most 200 ms for the evaluation lock, which the test holds: it fails with
    # the database's lock timeout (OperationalError, retried) every time.
    worker = start_worker(DATABASE_URL=database_url(lock_timeout="200ms"), GOVERNANCE_TASK_RETRY_DELAY="1")

    with evaluation_lock_held() as session:
        send([observation("reco-locale", "language")], key="b-1")
        wait_for(lambda: "raised unexpected: OperationalError" in worker.text(), what="the task to give up")
        time.sleep(1.5)  # were there another retry, it would be due one second after the last attempt
        assert evaluation_lock_waiter(session) is None

    log = worker.text()
    retries = log.count("] retry: Retry in 1s: OperationalError")
    failures = log.count("raised unexpected: OperationalError")
    assert (retries, failures) == (MAX_RETRIES, 1)  # MAX_RETRIES + 1 runs, then given up
    assert runs(on_redis, TASK) == MAX_RETRIES + 1  # counted by the worker as each run started
    assert messages_left(on_redis) == 0  # given up: nothing left to deliver again
    assert "lock timeout" in log
    # Giving up lost nothing: every attempt rolled back its claim, so the key is still pending and the
    # next evaluation (scheduled by the next batch) takes it.
    assert list(DriftPending.objects.values_list("feature_key", flat=True)) == ["reco-locale"]
    assert not drift_findings("reco-locale").exists()
    send([observation("reco-locale", "language")], key="b-2")
    wait_for(lambda: drift_findings("reco-locale").exists(), what="the next evaluation")
    assert not DriftPending.objects.exists()
