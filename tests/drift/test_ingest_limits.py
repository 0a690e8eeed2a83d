"""Idempotency and limits on ingestion (issue 7, item 4), on both ways in: the JSON batch endpoint
(/api/v1/observations) and OTLP/HTTP (/v1/traces). Each test is one of the four promises, run on both:

(a) the same Idempotency-Key and body twice → one write, the same answer;
(b) the same key with a different body → 422;
(c) two concurrent requests with one key → one write and a 409 (PostgreSQL: SQLite serialises writers);
(d) a body over the limit → 413 with a JSON body (our `{"error", "detail"}`, or OTLP's google.rpc.Status
    in JSON when the export was JSON), whether the size shows in Content-Length, only while reading, or
    only once inflated, and never Django's plain-text 400 for a body past DATA_UPLOAD_MAX_MEMORY_SIZE.

`.venv/bin/python -m pytest tests/drift/test_ingest_limits.py` (add DATABASE_URL=postgres://… for (c)).
"""

from __future__ import annotations

import gzip
import io
import threading
import time
from dataclasses import dataclass

import orjson
import psycopg
import pytest
from django.db import connection
from django.db.models import Sum
from django.test import Client, RequestFactory
from google.protobuf import json_format
from google.rpc import code_pb2, status_pb2

from governance.drift import api
from governance.drift.models import IngestBatch, ObservedEdge
from tests.drift.test_otlp import export, otlp_json, personalisation_span

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Endpoint:
    """One way in, and the batches to send through it."""

    name: str
    url: str
    content_type: str

    def batch(self, observation, number: int = 1) -> bytes:
        """A batch of two observations (count 2 in all); another `number`, another body (traces)."""
        if self.url == OBSERVATIONS.url:
            return orjson.dumps([observation(signal="locale"), observation(signal="language")])
        # One span naming two signals: two observations. The span number changes the body, not the counts.
        return orjson.dumps(otlp_json(export(personalisation_span(number))))

    def other_batch(self, observation) -> bytes:
        if self.url == OBSERVATIONS.url:
            return orjson.dumps([observation(signal="locale", count=5)])
        return self.batch(observation, number=2)

    def post(self, client, body: bytes, auth: dict, key: str | None = "batch-0001", **headers):
        if key:
            headers["Idempotency-Key"] = key
        return client.post(self.url, data=body, content_type=self.content_type, headers={**auth, **headers})


OBSERVATIONS = Endpoint("observations", "/api/v1/observations", "application/json")
TRACES = Endpoint("traces", "/v1/traces", "application/json")
ENDPOINTS = pytest.mark.parametrize("endpoint", [OBSERVATIONS, TRACES], ids=lambda endpoint: endpoint.name)


def counted() -> int:
    return ObservedEdge.objects.aggregate(total=Sum("count"))["total"] or 0


def refusal_code(endpoint: Endpoint, response) -> str | int:
    """The machine-readable code of a refusal: ours (`error`), or OTLP's google.rpc.Status code."""
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    if endpoint is OBSERVATIONS:
        return orjson.loads(response.content)["error"]
    return json_format.Parse(response.content, status_pb2.Status()).code


# --- (a) the same key and body twice: one write, the same answer ----------------------------------------------


@ENDPOINTS
def test_a_same_key_and_body_twice_write_once_and_get_the_same_answer(client, auth, observation, endpoint):
    body = endpoint.batch(observation)

    first = endpoint.post(client, body, auth)
    retry = endpoint.post(client, body, auth)

    assert first.status_code == 200
    assert (retry.status_code, retry.content) == (first.status_code, first.content)
    assert counted() == 2
    assert IngestBatch.objects.count() == 1


# --- (b) the same key with another body: 422 ------------------------------------------------------------------


@ENDPOINTS
def test_b_same_key_with_another_body_is_refused_with_422(client, auth, observation, endpoint):
    endpoint.post(client, endpoint.batch(observation), auth)

    response = endpoint.post(client, endpoint.other_batch(observation), auth)

    assert response.status_code == 422
    expected = "idempotency_key_reused" if endpoint is OBSERVATIONS else code_pb2.FAILED_PRECONDITION
    assert refusal_code(endpoint, response) == expected
    assert counted() == 2  # the first batch only
    assert IngestBatch.objects.count() == 1


# --- (c) two concurrent requests with one key: one write and a 409 --------------------------------------------


def someone_waits_for_a_transaction(session) -> bool:
    row = session.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'transactionid'"
    ).fetchone()
    return row[0] > 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
@ENDPOINTS
def test_c_two_concurrent_requests_with_one_key_write_once_and_one_gets_409(shipper, auth, observation, endpoint):
    """The first request is held inside its write, holding the key, by a row of the test's own session: an
    uncommitted record under the same key, which the first request's insert must wait for. No hook in
    the code: the second request meets the key's lock exactly as a concurrent retry would."""
    body = endpoint.batch(observation)
    answers: dict[str, object] = {}

    def send(name: str) -> None:
        try:
            answers[name] = endpoint.post(Client(), body, auth)
        finally:
            connection.close()

    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"], port=settings["PORT"] or 5432
    ) as session:
        session.execute(
            "INSERT INTO drift_ingestbatch (token_id, idempotency_key, body_sha256, status_code, response, received_at)"
            " VALUES (%s, 'batch-0001', '', 200, '{}', now())",
            [shipper.token.pk],
        )
        first = threading.Thread(target=send, args=("first",))
        first.start()
        deadline = time.monotonic() + 10
        while not someone_waits_for_a_transaction(session) and time.monotonic() < deadline:
            time.sleep(0.02)
        send("second")
        session.rollback()  # the first request's write goes ahead
    first.join(timeout=15)

    assert answers["second"].status_code == 409
    expected = "in_progress" if endpoint is OBSERVATIONS else code_pb2.ABORTED
    assert refusal_code(endpoint, answers["second"]) == expected
    assert answers["first"].status_code == 200
    assert counted() == 2
    assert IngestBatch.objects.count() == 1


# --- (d) a body over the limit: 413 with a JSON body ----------------------------------------------------------


@pytest.fixture
def limit(settings):
    """A body limit of 2,000 bytes (uncompressed): twice a test batch, or more."""
    settings.GOVERNANCE = {**settings.GOVERNANCE, "OBSERVATIONS_MAX_BODY_BYTES": 2000}
    return 2000


def padded(body: bytes, size: int) -> bytes:
    """The same JSON document, `size` bytes long (trailing whitespace)."""
    return body + b" " * (size - len(body))


def assert_too_large(endpoint: Endpoint, response) -> None:
    assert response.status_code == 413
    expected = "too_large" if endpoint is OBSERVATIONS else code_pb2.RESOURCE_EXHAUSTED
    assert refusal_code(endpoint, response) == expected
    assert counted() == 0
    assert not IngestBatch.objects.exists()


@ENDPOINTS
def test_d_a_body_over_the_limit_by_its_length_is_413_in_json(client, auth, observation, endpoint, limit):
    response = endpoint.post(client, padded(endpoint.batch(observation), limit + 1), auth)

    assert_too_large(endpoint, response)


@ENDPOINTS
def test_d_a_body_over_the_limit_only_while_read_is_413_in_json(shipper, auth, observation, endpoint, limit):
    """No Content-Length (a chunked body, under ASGI): the body is measured as it is read."""
    request = RequestFactory().post(endpoint.url, data=b"[]", content_type=endpoint.content_type, headers=auth)
    del request.META["CONTENT_LENGTH"]
    request._stream = io.BytesIO(padded(endpoint.batch(observation), 10 * limit))
    view = api.observations if endpoint is OBSERVATIONS else api.otlp_traces

    assert_too_large(endpoint, view(request))


@ENDPOINTS
def test_d_a_compressed_body_over_the_limit_once_inflated_is_413_in_json(client, auth, observation, endpoint, limit):
    bomb = gzip.compress(padded(endpoint.batch(observation), 100 * limit))
    assert len(bomb) < limit

    response = endpoint.post(client, bomb, auth, **{"Content-Encoding": "gzip"})

    assert_too_large(endpoint, response)


@ENDPOINTS
def test_d_djangos_upload_limit_never_turns_a_batch_into_a_plain_400(client, auth, observation, endpoint, settings):
    """Django refuses request.body past DATA_UPLOAD_MAX_MEMORY_SIZE with a plain-text 400; ingestion reads
    the stream against its own limit instead, so only that limit counts and it answers 413 in JSON."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64
    body = endpoint.batch(observation)
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    accepted = endpoint.post(client, body, auth)
    settings.GOVERNANCE = {**settings.GOVERNANCE, "OBSERVATIONS_MAX_BODY_BYTES": len(body) - 1}
    refused = endpoint.post(client, body, auth, key="batch-0002")

    assert accepted.status_code == 200
    assert counted() == 2
    assert refused.status_code == 413
    expected = "too_large" if endpoint is OBSERVATIONS else code_pb2.RESOURCE_EXHAUSTED
    assert refusal_code(endpoint, refused) == expected
