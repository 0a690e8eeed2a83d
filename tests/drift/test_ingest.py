"""POST /api/v1/observations: events fold into edges and daily counts; bad items are reported one by one;
end-user data, oversized and malformed bodies are refused whole. Runs on SQLite and on PostgreSQL."""

import datetime
import gzip
import io

import orjson
import pytest
from django.test import RequestFactory
from django.utils import timezone

from governance.drift.api import observations
from governance.drift.ingest import ingest_observations
from governance.drift.models import DriftPending, ObservedDay, ObservedEdge
from tests.drift.conftest import rfc3339

URL = "/api/v1/observations"
pytestmark = pytest.mark.django_db


def post(client, body, headers, **extra):
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return client.post(URL, data=data, content_type="application/json", headers=headers, **extra)


def at(moment: datetime.datetime) -> str:
    return rfc3339(moment)


def test_accepted_batch_answers_how_many_were_accepted(client, auth, observation):
    response = post(client, [observation(), observation(signal="language")], auth)

    assert response.status_code == 200
    assert response.json() == {"accepted": 2, "rejected": []}


def test_object_with_observations_is_a_batch_too(client, auth, observation):
    response = post(client, {"observations": [observation()]}, auth)

    assert response.json() == {"accepted": 1, "rejected": []}


def test_events_of_one_batch_fold_into_one_edge(client, auth, observation):
    post(client, [observation(), observation(count=4), observation()], auth)

    edge = ObservedEdge.objects.get()
    assert (edge.feature_key, edge.service_identity, edge.signal, edge.destination, edge.environment) == (
        "reco-locale",
        "reco-reader",
        "locale",
        "reco-ranker",
        "production",
    )
    assert edge.count == 6


def test_two_batches_add_counts_and_widen_first_and_last_seen(client, auth, observation):
    now = timezone.now().replace(microsecond=0)
    post(client, [observation(observed_at=at(now - datetime.timedelta(hours=2)), count=3)], auth)
    post(
        client,
        [
            observation(observed_at=at(now - datetime.timedelta(hours=5))),
            observation(observed_at=at(now - datetime.timedelta(minutes=1)), count=2),
        ],
        auth,
    )

    edge = ObservedEdge.objects.get()
    assert edge.count == 6
    assert edge.first_seen == now - datetime.timedelta(hours=5)
    assert edge.last_seen == now - datetime.timedelta(minutes=1)


def test_the_longest_credential_lifetime_is_kept(client, auth, observation):
    post(client, [observation(credential_ttl_seconds=3600), observation()], auth)
    post(client, [observation(credential_ttl_seconds=86400), observation(credential_ttl_seconds=60)], auth)

    assert ObservedEdge.objects.get().max_credential_ttl_seconds == 86400


def test_a_credential_lifetime_reported_later_is_kept(client, auth, observation):
    post(client, [observation()], auth)
    post(client, [observation(credential_ttl_seconds=600)], auth)
    post(client, [observation()], auth)

    assert ObservedEdge.objects.get().max_credential_ttl_seconds == 600


def test_an_edge_without_credential_lifetimes_has_none(client, auth, observation):
    post(client, [observation()], auth)

    assert ObservedEdge.objects.get().max_credential_ttl_seconds is None


def test_daily_counts_follow_the_utc_day_and_add_up(client, auth, observation):
    today = timezone.now().astimezone(datetime.UTC).date()
    yesterday = today - datetime.timedelta(days=1)
    # 00:30 on today's date in UTC+02:00 is 22:30 yesterday in UTC.
    late_yesterday = f"{today.isoformat()}T00:30:00+02:00"
    post(client, [observation(observed_at=late_yesterday, count=2), observation()], auth)
    post(client, [observation(count=5)], auth)

    days = dict(ObservedDay.objects.values_list("day", "count"))
    assert days == {yesterday: 2, today: 6}


def test_each_path_is_its_own_edge(client, auth, observation):
    post(
        client,
        [observation(), observation(environment="staging"), observation(destination="response"), observation()],
        auth,
    )

    assert ObservedEdge.objects.count() == 3
    assert ObservedEdge.objects.get(environment="production", destination="reco-ranker").count == 2


def test_invalid_items_are_reported_by_index_and_valid_ones_kept(client, auth, observation):
    response = post(client, [observation(), observation(signal="Not A Key"), observation(count=0)], auth)

    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 1
    assert [rejection["index"] for rejection in body["rejected"]] == [1, 2]
    assert "signal" in body["rejected"][0]["reason"]
    assert "count" in body["rejected"][1]["reason"]
    assert ObservedEdge.objects.get().count == 1


def _now_plus(**delta) -> str:
    return at(timezone.now() + datetime.timedelta(**delta))


@pytest.mark.parametrize(
    ("overrides", "reason_mentions"),
    [
        ({"feature": None}, "feature is missing"),
        ({"feature": "Reco_Locale"}, "feature must be"),
        ({"feature": "x" * 81}, "feature must be"),
        ({"signal": 7}, "signal must be a string"),
        ({"service_identity": "-leading-dash"}, "service_identity must be"),
        ({"destination": "a" * 121}, "destination must be"),
        ({"environment": "Production"}, "environment must be"),
        ({"observed_at": None}, "observed_at is missing"),
        ({"observed_at": "2026-01-31"}, "RFC 3339"),
        ({"observed_at": "2026-01-31T12:00:00"}, "RFC 3339"),
        ({"observed_at": "2026-02-30T12:00:00Z"}, "not a real date-time"),
        ({"observed_at": "later"}, "RFC 3339"),
        ({"observed_at": "__future__"}, "future"),
        ({"observed_at": "__ancient__"}, "older than 400 days"),
        ({"count": -1}, "count"),
        ({"count": 1.5}, "count"),
        ({"count": True}, "count"),
        ({"count": "3"}, "count"),
        ({"credential_ttl_seconds": -5}, "credential_ttl_seconds"),
        ({"credential_ttl_seconds": "3600"}, "credential_ttl_seconds"),
        ({"tier": 2}, "unknown field(s): tier"),
    ],
)
def test_each_kind_of_invalid_item_is_rejected_with_its_reason(client, auth, observation, overrides, reason_mentions):
    if overrides.get("observed_at") == "__future__":
        overrides["observed_at"] = _now_plus(minutes=6)
    if overrides.get("observed_at") == "__ancient__":
        overrides["observed_at"] = _now_plus(days=-401)
    response = post(client, [observation(), observation(**overrides)], auth)

    body = response.json()
    assert body["accepted"] == 1
    assert len(body["rejected"]) == 1
    assert body["rejected"][0]["index"] == 1
    assert reason_mentions in body["rejected"][0]["reason"]


def test_a_non_object_item_is_rejected(client, auth, observation):
    response = post(client, [observation(), "locale"], auth)

    assert response.json()["rejected"] == [{"index": 1, "reason": "an observation must be a JSON object"}]


def test_timestamps_within_the_allowed_window_are_accepted(client, auth, observation):
    items = [observation(observed_at=_now_plus(minutes=4)), observation(observed_at=_now_plus(days=-399))]

    assert post(client, items, auth).json() == {"accepted": 2, "rejected": []}


def test_accepted_features_are_marked_for_drift_evaluation(client, auth, observation):
    post(
        client,
        [
            observation(feature="reco-locale"),
            observation(feature="shadow-thing"),
            observation(count=0, feature="bad-one"),
        ],
        auth,
    )

    assert set(DriftPending.objects.values_list("feature_key", flat=True)) == {"reco-locale", "shadow-thing"}


@pytest.mark.parametrize(
    "key", ["user_id", "userId", "email", "ip", "ip_address", "client_ip", "session_id", "device_id", "enduser.id"]
)
def test_an_end_user_key_refuses_the_whole_batch(client, auth, observation, key):
    response = post(client, [observation(), {**observation(), key: "abc123"}], auth)

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "end_user_data"
    assert body["items"] == [1]
    assert "end-user data" in body["detail"]
    assert ObservedEdge.objects.count() == 0
    assert DriftPending.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "kind"),
    [
        ({"destination": "jane.doe@example.com"}, "email"),
        ({"service_identity": "203.0.113.7"}, "IP"),
        ({"service_identity": "2001:db8::7"}, "IP"),
        ({"feature": "10.0.0.1"}, "IP"),
        ({"observed_at": "jane@example.com"}, "email"),
        ({"attributes": {"visitor": "198.51.100.4"}}, "IP"),
    ],
)
def test_an_end_user_value_refuses_the_whole_batch(client, auth, observation, overrides, kind):
    response = post(client, [observation(), observation(), observation(**overrides)], auth)

    assert response.status_code == 422
    assert response.json()["items"] == [2]
    assert kind in response.json()["detail"]
    assert ObservedEdge.objects.count() == 0


def test_the_refusal_never_echoes_the_end_user_value(client, auth, observation):
    response = post(client, [observation(destination="jane.doe@example.com")], auth)

    assert b"jane.doe" not in response.content


def test_a_body_over_the_limit_by_its_header_is_refused(client, auth, observation, settings):
    settings.GOVERNANCE = {**settings.GOVERNANCE, "OBSERVATIONS_MAX_BODY_BYTES": 100}

    response = post(client, [observation(), observation()], auth)

    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert "100 bytes" in response.json()["detail"]


def test_a_body_over_the_limit_by_its_real_size_is_refused(shipper, settings):
    """A streamed body (no Content-Length, e.g. chunked under ASGI) is measured as it is read."""
    settings.GOVERNANCE = {**settings.GOVERNANCE, "OBSERVATIONS_MAX_BODY_BYTES": 100}
    request = RequestFactory().post(
        URL, data=b"[]", content_type="application/json", headers={"Authorization": f"Bearer {shipper.plaintext}"}
    )
    del request.META["CONTENT_LENGTH"]
    request._stream = io.BytesIO(b"[" + b" " * 200 + b"]")

    response = observations(request)

    assert response.status_code == 413
    assert orjson.loads(response.content)["error"] == "too_large"


def test_a_compressed_body_over_the_limit_once_inflated_is_refused(client, auth, settings):
    settings.GOVERNANCE = {**settings.GOVERNANCE, "OBSERVATIONS_MAX_BODY_BYTES": 1000}
    bomb = gzip.compress(b"[" + b" " * 100_000 + b"]")

    response = post(client, bomb, {**auth, "Content-Encoding": "gzip"})

    assert response.status_code == 413
    assert response.json()["error"] == "too_large"


def test_a_gzip_body_is_accepted(client, auth, observation):
    response = post(client, gzip.compress(orjson.dumps([observation()])), {**auth, "Content-Encoding": "gzip"})

    assert response.json() == {"accepted": 1, "rejected": []}


def test_an_unsupported_compression_is_refused(client, auth, observation):
    response = post(client, orjson.dumps([observation()]), {**auth, "Content-Encoding": "br"})

    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_encoding"


def test_more_items_than_allowed_are_refused(client, auth, observation, settings):
    settings.GOVERNANCE = {**settings.GOVERNANCE, "OBSERVATIONS_MAX_ITEMS": 3}

    response = post(client, [observation()] * 4, auth)

    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert ObservedEdge.objects.count() == 0


def test_a_body_that_is_not_json_is_refused(client, auth):
    response = post(client, b"[{'feature': 'reco'}]", auth)

    assert response.status_code == 400
    assert response.json()["error"] == "malformed"
    assert "not valid JSON" in response.json()["detail"]


@pytest.mark.parametrize(
    "body", [{"feature": "reco-locale"}, 42, "observations", {"observations": {}}, {"observations": [], "extra": 1}]
)
def test_a_body_of_the_wrong_shape_is_refused(client, auth, body):
    response = post(client, body, auth)

    assert response.status_code == 400
    assert response.json()["error"] == "malformed"
    assert "JSON array of observations" in response.json()["detail"]


def test_an_empty_batch_accepts_nothing(client, auth):
    assert post(client, [], auth).json() == {"accepted": 0, "rejected": []}


def test_reading_is_not_allowed(client, auth):
    assert client.get(URL, headers=auth).status_code == 405


def test_the_function_serves_the_view_and_the_otlp_endpoint_alike(shipper, observation):
    outcome = ingest_observations([observation(), {}], token=shipper.token, idempotency_key=None, body_sha256="x")

    assert outcome.status_code == 200
    assert outcome.body["accepted"] == 1
    assert outcome.body["rejected"] == [{"index": 1, "reason": "feature is missing"}]
