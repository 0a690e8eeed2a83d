"""Edges are found by a 64-bit path hash: the model keeps it in step with the five names, a collision is
never counted on the wrong edge, a write whose key was recorded meanwhile writes nothing, and a failed
write lets its key go. Runs on SQLite and on PostgreSQL."""

import datetime
import threading
import time

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from governance.drift import ingest
from governance.drift.models import DriftPending, IngestBatch, ObservedDay, ObservedEdge, path_hash
from tests.drift.test_ingest_limits import someone_waits_for_a_transaction

pytestmark = pytest.mark.django_db
PATH = ("reco-locale", "reco-reader", "locale", "reco-ranker", "production")


def edge_of(path, **fields) -> ObservedEdge:
    now = timezone.now()
    names = dict(zip(("feature_key", "service_identity", "signal", "destination", "environment"), path, strict=True))
    return ObservedEdge(**names, count=1, first_seen=now, last_seen=now, **fields)


def test_saving_an_edge_stores_the_hash_of_its_path():
    edge = edge_of(PATH)
    edge.save()

    assert ObservedEdge.objects.get().path_hash == path_hash(*PATH)


def test_bulk_created_edges_get_the_hash_of_their_paths():
    other = (*PATH[:2], "language", *PATH[3:])
    ObservedEdge.objects.bulk_create([edge_of(PATH), edge_of(other)])

    stored = dict(ObservedEdge.objects.values_list("signal", "path_hash"))
    assert stored == {"locale": path_hash(*PATH), "language": path_hash(*other)}


def test_renaming_a_path_field_moves_the_hash_with_it():
    edge = edge_of(PATH)
    edge.save()
    edge.signal = "language"
    edge.save(update_fields=["signal"])

    assert ObservedEdge.objects.get().path_hash == path_hash(*PATH[:2], "language", *PATH[3:])


def test_the_hash_is_stable_and_tells_the_names_apart():
    assert path_hash(*PATH) == path_hash(*PATH)
    assert path_hash("a", "bc", "d", "e", "f") != path_hash("ab", "c", "d", "e", "f")


def collide_with(path) -> ObservedEdge:
    colliding = edge_of(("shadow-thing", "other-reader", "locale", "reco-ranker", "production"))
    colliding.save()
    ObservedEdge.objects.filter(pk=colliding.pk).update(path_hash=path_hash(*path))  # as if BLAKE2b collided
    return colliding


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite writes in the request; PostgreSQL folds")
def test_a_batch_whose_path_hash_collides_with_another_path_is_refused_on_sqlite(shipper, observation):
    collide_with(PATH)

    with pytest.raises(ingest.PathHashCollision):
        ingest.ingest_observations([observation()], token=shipper.token, idempotency_key=None, body_sha256="x")

    assert list(ObservedEdge.objects.values_list("feature_key", "count")) == [("shadow-thing", 1)]
    assert not ObservedDay.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="folding is PostgreSQL's")
def test_a_path_whose_hash_collides_with_a_stored_edge_is_left_out_and_logged(shipper, observation, caplog):
    collide_with(PATH)

    ingest.ingest_observations(
        [observation(), observation(signal="language")], token=shipper.token, idempotency_key=None, body_sha256="x"
    )

    assert dict(ObservedEdge.objects.values_list("feature_key", "count")) == {"shadow-thing": 1, "reco-locale": 1}
    assert ObservedEdge.objects.get(feature_key="reco-locale").signal == "language"
    assert ObservedDay.objects.get().edge.signal == "language"
    assert "1 observed path(s) share a 64-bit path hash" in caplog.text


@pytest.mark.skipif(connection.vendor != "postgresql", reason="folding is PostgreSQL's")
def test_two_staged_paths_with_one_hash_are_both_left_out(shipper, observation, monkeypatch, caplog):
    monkeypatch.setattr(ingest, "path_hash", lambda *names: 42)  # every path collides
    ingest._path_elements.cache_clear()
    try:
        ingest.ingest_observations(
            [observation(), observation(signal="language")], token=shipper.token, idempotency_key=None, body_sha256="x"
        )
    finally:
        ingest._path_elements.cache_clear()

    assert not ObservedEdge.objects.exists()
    assert "1 observed path(s) share a 64-bit path hash" in caplog.text


def folded(observation) -> dict:
    return ingest._validate_and_fold([observation()], timezone.now(), track_features=False).edges


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement staging is PostgreSQL's")
def test_a_write_finding_its_key_recorded_returns_that_batch_and_writes_nothing(shipper, observation):
    record = ingest.BatchRecord(shipper.token.pk, "batch-0001", "x" * 64, 200, {"accepted": 1, "rejected": []})
    IngestBatch.objects.create(
        token=shipper.token, idempotency_key="batch-0001", body_sha256="y" * 64, status_code=200, response={}
    )

    earlier = ingest._stage_postgresql(ingest.BatchWrite(folded(observation), record))
    ingest.fold_staged_observations()

    assert (earlier.body_sha256, earlier.response) == ("y" * 64, {})
    assert not ObservedEdge.objects.exists()
    assert not DriftPending.objects.exists()
    assert IngestBatch.objects.get().body_sha256 == "y" * 64


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement staging is PostgreSQL's")
def test_a_key_recorded_by_another_request_meanwhile_writes_nothing(shipper, observation):
    """Another session records the key after our statement began (its insert waits for that session):
    nothing of ours is written, and the answer is the one for a key reused with another body."""
    outcome: dict[str, object] = {}

    def ingest_in_a_thread() -> None:
        try:
            outcome["answer"] = ingest.ingest_observations(
                [observation()], token=shipper.token, idempotency_key="batch-0001", body_sha256="x" * 64
            )
        finally:
            connection.close()

    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"], port=settings["PORT"] or 5432
    ) as session:
        session.execute(
            "INSERT INTO drift_ingestbatch (token_id, idempotency_key, body_sha256, status_code, response, received_at)"
            " VALUES (%s, 'batch-0001', %s, 200, '{}', now())",
            [shipper.token.pk, "y" * 64],
        )
        thread = threading.Thread(target=ingest_in_a_thread)
        thread.start()
        deadline = time.monotonic() + 10
        while not someone_waits_for_a_transaction(session) and time.monotonic() < deadline:
            time.sleep(0.02)
        session.commit()
    thread.join(timeout=15)

    assert outcome["answer"].status_code == 422
    assert outcome["answer"].body["error"] == "idempotency_key_reused"
    assert not ObservedEdge.objects.exists()
    assert not DriftPending.objects.exists()
    assert IngestBatch.objects.get().body_sha256 == "y" * 64
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM drift_stagedbatch")
        assert cursor.fetchone()[0] == 0


def key_locked(token, idempotency_key: str) -> bool:
    """Whether this session holds the key's lock (other advisory locks, such as the audit chain's, aside)."""
    key = ingest.BatchRecord(token.pk, idempotency_key, "", 200, {}).lock_key
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
            " AND classid = ((%(key)s >> 32) & 4294967295)::oid AND objid = (%(key)s & 4294967295)::oid",
            {"key": key},
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="keys are locked on PostgreSQL only")
def test_a_failed_write_lets_its_key_go(shipper, observation, monkeypatch):
    def failing_stage(write):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(ingest, "_stage_postgresql", failing_stage)

    with pytest.raises(RuntimeError):
        ingest.ingest_observations([observation()], token=shipper.token, idempotency_key="k-1", body_sha256="x")

    assert not key_locked(shipper.token, "k-1")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="keys are locked on PostgreSQL only")
def test_a_written_batch_lets_its_key_go(shipper, observation):
    outcome = ingest.ingest_observations(
        [observation(observed_at=(timezone.now() - datetime.timedelta(hours=1)).isoformat())],
        token=shipper.token,
        idempotency_key="k-2",
        body_sha256="x",
    )

    assert outcome.status_code == 200
    assert not key_locked(shipper.token, "k-2")
    assert ObservedEdge.objects.get().count == 1
