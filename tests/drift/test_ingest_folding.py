"""On PostgreSQL a batch is answered once staged, and folded into the edges and days with others:
at once by its own request when nothing else waits, else by the process's folding thread. Each staged
batch counts exactly once, only folded data reaches drift evaluation, and nothing of a rejected item or
of the raw events is staged. (SQLite writes edges and days directly: tests/drift/test_ingest.py.)"""

import datetime
import io
import threading
import time

import orjson
import psycopg
import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from governance.drift import ingest
from governance.drift.models import DriftPending, ObservedDay, ObservedEdge, StagedBatch

URL = "/api/v1/observations"
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="staging and folding are PostgreSQL's"),
]


def post(client, items, headers, **extra):
    return client.post(URL, data=orjson.dumps(items), content_type="application/json", headers=headers, **extra)


def counted() -> int:
    return ObservedEdge.objects.aggregate(total=Sum("count"))["total"] or 0


@pytest.fixture
def folds_left_to_the_thread(monkeypatch):
    """Calls on the folding thread, recorded instead (whether each asked for a fold now)."""
    calls: list[bool] = []
    monkeypatch.setattr(ingest._folder, "fold", lambda *, now: calls.append(now))
    return calls


@pytest.fixture
def another_batch_waits(shipper, observation):
    """A batch staged and not folded, as another request under load leaves it."""
    folded = ingest._validate_and_fold([observation(signal="language")], timezone.now(), track_features=False)
    ingest._stage_postgresql(ingest.BatchWrite(folded.edges, None))


def test_a_batch_staged_when_none_waits_is_folded_before_its_answer(client, auth, observation):
    response = post(client, [observation(), observation(count=2)], auth)

    assert response.json() == {"accepted": 2, "rejected": []}
    assert counted() == 3
    assert not StagedBatch.objects.exists()


def test_a_batch_staged_while_others_wait_is_left_to_the_folding_thread(
    client, auth, observation, another_batch_waits, folds_left_to_the_thread
):
    response = post(client, [observation()], auth)

    assert response.json() == {"accepted": 1, "rejected": []}
    assert StagedBatch.objects.count() == 2
    assert counted() == 0
    assert folds_left_to_the_thread == [False]  # within FOLD_AFTER_SECONDS, not at once


def test_enough_waiting_batches_are_folded_at_once(
    client, auth, observation, another_batch_waits, folds_left_to_the_thread, monkeypatch
):
    monkeypatch.setattr(ingest, "FOLD_AT_BATCHES", 2)

    post(client, [observation()], auth)

    assert folds_left_to_the_thread == [True]


def test_a_fold_counts_every_waiting_batch_once(
    client, auth, observation, another_batch_waits, folds_left_to_the_thread
):
    post(client, [observation(), observation()], auth)

    first = ingest.fold_staged_observations()
    again = ingest.fold_staged_observations()

    assert (first.batches, first.edges, first.collisions) == (2, 2, 0)
    assert (again.batches, again.edges) == (0, 0)
    assert dict(ObservedEdge.objects.values_list("signal", "count")) == {"locale": 2, "language": 1}
    assert ObservedDay.objects.aggregate(total=Sum("count"))["total"] == 3
    assert not StagedBatch.objects.exists()


def test_only_a_fold_marks_a_feature_for_drift_evaluation(
    client, auth, observation, another_batch_waits, folds_left_to_the_thread
):
    post(client, [observation(feature="reco-other")], auth)
    marked_before = set(DriftPending.objects.values_list("feature_key", flat=True))

    ingest.fold_staged_observations()

    assert marked_before == set()
    assert set(DriftPending.objects.values_list("feature_key", flat=True)) == {"reco-locale", "reco-other"}


def test_first_and_last_seen_and_credential_lifetimes_fold_across_batches(
    client, auth, observation, another_batch_waits, folds_left_to_the_thread
):
    now = timezone.now().replace(microsecond=0)
    at = [now - datetime.timedelta(hours=hours) for hours in (5, 1, 3)]
    for n, (moment, ttl) in enumerate(zip(at, (600, None, 3600), strict=True)):
        post(client, [observation(observed_at=moment.isoformat(), credential_ttl_seconds=ttl)], auth)
        assert StagedBatch.objects.count() == n + 2  # every one waits: the first batch never folded

    ingest.fold_staged_observations()

    edge = ObservedEdge.objects.get(signal="locale")
    assert (edge.count, edge.first_seen, edge.last_seen, edge.max_credential_ttl_seconds) == (3, at[0], at[1], 3600)


def test_a_staged_batch_holds_its_paths_not_its_events_nor_rejected_items(
    client, auth, observation, another_batch_waits, folds_left_to_the_thread
):
    post(client, [observation(), observation(), observation(signal="BAD"), observation(environment="staging")], auth)

    with connection.cursor() as cursor:
        cursor.execute("SELECT names, n FROM drift_stagedbatch ORDER BY id DESC LIMIT 1")
        names, counts = cursor.fetchone()
    assert sorted(name.split("\x1f")[4] for name in names) == ["production", "staging"]
    assert sorted(counts) == [1, 2]
    assert not any("BAD" in name for name in names)


def test_a_fold_while_another_runs_gives_up_or_waits_for_it(client, auth, observation, another_batch_waits):
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"], port=settings["PORT"] or 5432
    ) as other:
        other.execute("SELECT pg_advisory_xact_lock(%s)", [ingest.FOLD_LOCK_KEY])  # another fold is running
        gave_up = ingest.fold_staged_observations()
        threading.Timer(0.3, other.rollback).start()  # … and ends
        started = time.monotonic()
        waited = ingest.fold_staged_observations(wait=True)

    assert gave_up is None
    assert time.monotonic() - started >= 0.25
    assert waited.batches == 1
    assert counted() == 1


@pytest.mark.django_db(transaction=True)
def test_the_folding_thread_folds_what_was_left_waiting(client, auth, observation, another_batch_waits, monkeypatch):
    monkeypatch.setattr(ingest, "FOLD_AFTER_SECONDS", 0.2)

    post(client, [observation()], auth)
    assert counted() == 0

    deadline = time.monotonic() + 10
    while StagedBatch.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert counted() == 2
    assert dict(ObservedEdge.objects.values_list("signal", "count")) == {"locale": 1, "language": 1}


@pytest.mark.parametrize("evaluation", ["evaluate_pending_drift", "sweep_drift", "manage.py drift_sweep"])
def test_drift_evaluation_folds_what_a_dead_process_left_staged(
    client, auth, observation, another_batch_waits, evaluation
):
    from django.core.management import call_command

    from governance.drift import tasks

    assert StagedBatch.objects.count() == 1 and counted() == 0  # its web process died before folding it

    if evaluation == "manage.py drift_sweep":
        call_command("drift_sweep", stdout=io.StringIO())
    else:
        getattr(tasks, evaluation)()

    assert not StagedBatch.objects.exists()
    assert counted() == 1
