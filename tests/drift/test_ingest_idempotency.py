"""An Idempotency-Key makes a retried batch count once: the same key and body get the stored answer,
the same key with another body is refused, and two concurrent requests with one key write once."""

import threading

import orjson
import pytest
from django.db import connection
from django.test import Client

from governance.drift import ingest, scheduling
from governance.drift.models import IngestBatch, ObservedDay, ObservedEdge

URL = "/api/v1/observations"


def post(client, items, headers, key="batch-0001"):
    return client.post(
        URL, data=orjson.dumps(items), content_type="application/json", headers={**headers, "Idempotency-Key": key}
    )


@pytest.mark.django_db
def test_a_retried_batch_counts_once_and_gets_the_identical_answer(client, auth, observation):
    batch = [observation(count=3), observation(signal="BAD")]

    first = post(client, batch, auth)
    retry = post(client, batch, auth)

    assert (retry.status_code, retry.content) == (first.status_code, first.content)
    assert first.json()["accepted"] == 1
    assert ObservedEdge.objects.get().count == 3
    assert ObservedDay.objects.get().count == 3
    assert IngestBatch.objects.count() == 1


@pytest.mark.django_db
def test_the_answer_is_stored_with_the_batch(client, shipper, auth, observation):
    response = post(client, [observation()], auth)

    batch = IngestBatch.objects.get()
    assert (batch.token_id, batch.idempotency_key, batch.status_code) == (shipper.token.pk, "batch-0001", 200)
    assert batch.response == response.json()
    assert len(batch.body_sha256) == 64


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_refused(client, auth, observation):
    post(client, [observation()], auth)

    response = post(client, [observation(count=2)], auth)

    assert response.status_code == 422
    assert response.json()["error"] == "idempotency_key_reused"
    assert ObservedEdge.objects.get().count == 1


@pytest.mark.django_db
def test_another_token_may_use_the_same_key(client, auth, issue_token, observation):
    other = issue_token(name="second-collector")
    post(client, [observation()], auth)

    response = post(client, [observation()], {"Authorization": f"Bearer {other.plaintext}"})

    assert response.json()["accepted"] == 1
    assert ObservedEdge.objects.get().count == 2


@pytest.mark.django_db
def test_batches_without_a_key_count_every_time(client, auth, observation):
    for _ in range(2):
        client.post(URL, data=orjson.dumps([observation()]), content_type="application/json", headers=auth)

    assert ObservedEdge.objects.get().count == 2
    assert IngestBatch.objects.count() == 0


@pytest.mark.django_db
def test_a_refused_batch_is_not_remembered(client, auth, observation):
    post(client, [{**observation(), "user_id": "42"}], auth)

    response = post(client, [observation()], auth)

    assert response.json()["accepted"] == 1


@pytest.mark.django_db
def test_an_overlong_key_is_malformed(client, auth, observation):
    response = post(client, [observation()], auth, key="k" * 201)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["detail"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_two_concurrent_requests_with_one_key_write_once_and_one_is_told_in_progress(
    shipper, auth, observation, monkeypatch
):
    batch = [observation(count=5)]
    first_is_writing, second_has_answered = threading.Event(), threading.Event()
    upsert = ingest._upsert_postgresql

    def slow_upsert(edges):
        # Hold the first request inside its transaction until the second one has its answer.
        first_is_writing.set()
        second_has_answered.wait(timeout=10)
        upsert(edges)

    monkeypatch.setattr(ingest, "_upsert_postgresql", slow_upsert)
    monkeypatch.setattr(scheduling, "schedule_pending_evaluation", lambda: None)
    answers: dict[str, object] = {}

    def send(name: str) -> None:
        try:
            answers[name] = post(Client(), batch, auth)
        except BaseException as failure:  # reported by the assertions below
            answers[name] = failure
        finally:
            if name == "second":
                second_has_answered.set()
            connection.close()

    first = threading.Thread(target=send, args=("first",))
    first.start()
    assert first_is_writing.wait(timeout=10)
    second = threading.Thread(target=send, args=("second",))
    second.start()
    second.join(timeout=15)
    first.join(timeout=15)

    assert answers["first"].status_code == 200
    assert answers["second"].status_code == 409
    assert answers["second"].json()["error"] == "in_progress"
    assert ObservedEdge.objects.get().count == 5
    assert IngestBatch.objects.count() == 1
