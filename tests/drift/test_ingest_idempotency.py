"""An Idempotency-Key makes a retried batch count once: the same key and body get the stored answer,
the same key with another body is refused. (Two concurrent requests with one key, and the same promises
on /v1/traces: tests/drift/test_ingest_limits.py.)"""

import orjson
import pytest

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
