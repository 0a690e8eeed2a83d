"""POST /v1/traces: OTLP/HTTP trace exports (protobuf and JSON) whose personalisation spans become
observations, answered the OTLP way. Requests are built with opentelemetry-proto, as exporters do."""

import base64
import datetime
import gzip
import time

import pytest
from django.utils import timezone
from google.protobuf import json_format
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

from governance.accounts.models import ApiToken, TokenScope
from governance.accounts.tokens import token_revoke
from governance.drift.models import IngestBatch, ObservedEdge

URL = "/v1/traces"
PROTOBUF = "application/x-protobuf"
pytestmark = pytest.mark.django_db


def value(python) -> AnyValue:
    if isinstance(python, bool):
        return AnyValue(bool_value=python)
    if isinstance(python, int):
        return AnyValue(int_value=python)
    if isinstance(python, list):
        return AnyValue(array_value=ArrayValue(values=[value(inner) for inner in python]))
    return AnyValue(string_value=python)


def attributes(mapping: dict) -> list[KeyValue]:
    return [KeyValue(key=key, value=value(inner)) for key, inner in mapping.items()]


PERSONALISATION = {
    "personalisation.feature": "reco-locale",
    "personalisation.signals": ["locale", "language"],
    "personalisation.destination": "reco-ranker",
    "personalisation.service_identity": "reco-reader",
}


def span(number: int = 1, ended_ago_seconds: float = 60, **attrs) -> Span:
    end = time.time_ns() - int(ended_ago_seconds * 1e9)
    return Span(
        trace_id=bytes.fromhex("4bf92f3577b34da6a3ce929d0e0e4736"),
        span_id=number.to_bytes(8, "big"),
        name="rank products",
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=end - 5_000_000,
        end_time_unix_nano=end,
        attributes=attributes({key: inner for key, inner in attrs.items() if inner is not None}),
    )


def personalisation_span(number: int = 1, **overrides) -> Span:
    merged = {**PERSONALISATION, **{key.replace("__", "."): inner for key, inner in overrides.items()}}
    return span(number, **merged)


def export(*spans: Span, resource: dict | None = None) -> ExportTraceServiceRequest:
    resource = {"service.name": "reco-api", "deployment.environment.name": "staging"} if resource is None else resource
    return ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(attributes=attributes(resource)),
                scope_spans=[ScopeSpans(spans=list(spans))],
            )
        ]
    )


def otlp_json(request: ExportTraceServiceRequest) -> dict:
    """OTLP/JSON: protobuf's JSON mapping, except that trace and span ids are hex."""
    document = json_format.MessageToDict(request)
    for resource_spans in document.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for entry in scope_spans.get("spans", []):
                for key in ("traceId", "spanId"):
                    if key in entry:
                        entry[key] = base64.b64decode(entry[key]).hex()
    return document


def send(client, auth, request: ExportTraceServiceRequest, *, compress=False, **headers):
    data = request.SerializeToString()
    if compress:
        data, headers = gzip.compress(data), {**headers, "Content-Encoding": "gzip"}
    return client.post(URL, data=data, content_type=PROTOBUF, headers={**auth, **headers})


def export_response(response) -> ExportTraceServiceResponse:
    assert response["Content-Type"] == PROTOBUF
    return ExportTraceServiceResponse.FromString(response.content)


def status(response) -> status_pb2.Status:
    return status_pb2.Status.FromString(response.content)


def test_a_protobuf_export_becomes_one_observation_per_signal(client, auth):
    response = send(client, auth, export(personalisation_span()))

    assert response.status_code == 200
    assert not export_response(response).HasField("partial_success")
    edges = ObservedEdge.objects.order_by("signal")
    assert [(edge.feature_key, edge.signal, edge.environment) for edge in edges] == [
        ("reco-locale", "language", "staging"),
        ("reco-locale", "locale", "staging"),
    ]
    assert {(edge.service_identity, edge.destination, edge.count) for edge in edges} == {
        ("reco-reader", "reco-ranker", 1)
    }


def test_a_json_export_is_answered_in_json(client, auth):
    request = export(personalisation_span(1), personalisation_span(2, personalisation__signals=["locale"]))

    response = client.post(URL, data=otlp_json(request), content_type="application/json", headers=auth)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {}
    assert ObservedEdge.objects.get(signal="locale").count == 2


def test_a_gzip_compressed_export_is_accepted(client, auth):
    response = send(client, auth, export(personalisation_span()), compress=True)

    assert response.status_code == 200
    assert ObservedEdge.objects.count() == 2


def test_the_span_end_is_when_it_was_observed(client, auth):
    request = export(personalisation_span())
    ended = request.resource_spans[0].scope_spans[0].spans[0].end_time_unix_nano

    send(client, auth, request)

    # To the microsecond (what the databases keep): the nanoseconds are cut, not rounded.
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    assert ObservedEdge.objects.first().last_seen == epoch + datetime.timedelta(microseconds=ended // 1000)


@pytest.mark.parametrize(
    ("resource", "environment"),
    [
        ({"deployment.environment.name": "staging"}, "staging"),
        ({"deployment.environment": "eu-prod"}, "eu-prod"),
        ({"service.name": "reco-api"}, "production"),
    ],
)
def test_the_environment_comes_from_the_resource(client, auth, resource, environment):
    send(client, auth, export(personalisation_span(), resource=resource))

    assert set(ObservedEdge.objects.values_list("environment", flat=True)) == {environment}


def test_a_credential_lifetime_attribute_is_kept(client, auth):
    send(client, auth, export(personalisation_span(personalisation__credential_ttl_seconds=7200)))

    assert set(ObservedEdge.objects.values_list("max_credential_ttl_seconds", flat=True)) == {7200}


def test_spans_without_a_personalisation_feature_are_ignored(client, auth):
    response = send(client, auth, export(span(1, **{"http.route": "/products"}), personalisation_span(2)))

    assert response.status_code == 200
    assert not export_response(response).HasField("partial_success")
    assert ObservedEdge.objects.count() == 2


def test_an_invalid_personalisation_span_is_rejected_as_a_partial_success(client, auth):
    request = export(
        personalisation_span(1),
        personalisation_span(2, personalisation__destination=None),
        personalisation_span(3, personalisation__signals=["locale", "Not A Key"]),
    )

    answer = export_response(send(client, auth, request))

    assert answer.partial_success.rejected_spans == 2
    assert "span 0000000000000002: personalisation.destination must be a string" in answer.partial_success.error_message
    assert "span 0000000000000003: signal must be" in answer.partial_success.error_message
    assert ObservedEdge.objects.get(signal="locale").count == 2  # spans 1 and 3 (its valid signal)


def test_partial_success_is_spelled_in_json_for_json_exports(client, auth):
    request = export(personalisation_span(1, ended_ago_seconds=-3600))

    response = client.post(URL, data=otlp_json(request), content_type="application/json", headers=auth)

    assert response.json()["partialSuccess"]["rejectedSpans"] == "1"
    assert "future" in response.json()["partialSuccess"]["errorMessage"]


@pytest.mark.parametrize("key", ["enduser.id", "user.id", "user.email", "client.address", "net.peer.ip", "session.id"])
def test_an_end_user_attribute_refuses_the_whole_export(client, auth, key):
    request = export(personalisation_span(1), personalisation_span(2, **{key.replace(".", "__"): "abc"}))

    response = send(client, auth, request)

    assert response.status_code == 400
    assert status(response).code == code_pb2.INVALID_ARGUMENT
    assert "end-user data" in status(response).message
    assert ObservedEdge.objects.count() == 0


@pytest.mark.parametrize(
    ("attribute", "text"),
    [("reco.note", "jane.doe@example.com"), ("reco.upstream", "198.51.100.23"), ("reco.peer", "2001:db8::23")],
)
def test_an_end_user_value_refuses_the_whole_export(client, auth, attribute, text):
    response = send(client, auth, export(personalisation_span(**{attribute.replace(".", "__"): text})))

    assert response.status_code == 400
    assert "end-user data" in status(response).message
    assert text not in status(response).message
    assert ObservedEdge.objects.count() == 0


def test_end_user_data_in_the_resource_refuses_the_export(client, auth):
    response = send(client, auth, export(personalisation_span(), resource={"host.ip": "10.1.2.3"}))

    assert response.status_code == 400
    assert ObservedEdge.objects.count() == 0


def test_a_json_refusal_is_a_json_status(client, auth):
    request = export(personalisation_span(**{"user__email": "jane@example.com"}))

    response = client.post(URL, data=otlp_json(request), content_type="application/json", headers=auth)

    assert response.status_code == 400
    assert response.json()["code"] == code_pb2.INVALID_ARGUMENT


def test_an_export_without_a_token_is_unauthorized(client):
    response = send(client, {}, export(personalisation_span()))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert status(response).code == code_pb2.UNAUTHENTICATED


@pytest.mark.parametrize(
    ("spoil", "detail"),
    [
        ("expire", "expired"),
        ("revoke", "revoked"),
        ("narrow", "lacks the scope observations:write"),
    ],
)
def test_an_export_with_a_token_that_no_longer_serves_is_unauthorized(
    client, shipper, issue_token, administrator, spoil, detail
):
    token = shipper
    if spoil == "expire":
        ApiToken.objects.filter(pk=token.token.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    elif spoil == "revoke":
        token_revoke(actor=administrator, token=token.token)
    else:
        token = issue_token(scopes=[TokenScope.EVIDENCE_READ])

    response = send(client, {"Authorization": f"Bearer {token.plaintext}"}, export(personalisation_span()))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert status(response).code == code_pb2.UNAUTHENTICATED
    assert detail in status(response).message
    assert ObservedEdge.objects.count() == 0


def test_an_oversized_export_is_refused(client, auth, settings):
    settings.GOVERNANCE = {**settings.GOVERNANCE, "OBSERVATIONS_MAX_BODY_BYTES": 64}

    response = send(client, auth, export(personalisation_span()))

    assert response.status_code == 413
    assert status(response).code == code_pb2.RESOURCE_EXHAUSTED


def test_a_body_that_is_not_protobuf_is_malformed(client, auth):
    response = client.post(URL, data=b"\xff\xff\xff", content_type=PROTOBUF, headers=auth)

    assert response.status_code == 400
    assert "protobuf" in status(response).message


def test_json_with_ids_that_are_not_hex_is_malformed(client, auth):
    document = otlp_json(export(personalisation_span()))
    document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["spanId"] = "not-hex!"

    response = client.post(URL, data=document, content_type="application/json", headers=auth)

    assert response.status_code == 400
    assert "hex" in response.json()["message"]


def test_another_content_type_is_unsupported(client, auth):
    response = client.post(URL, data="{}", content_type="text/plain", headers=auth)

    assert response.status_code == 415


def test_a_retried_export_with_an_idempotency_key_counts_once(client, auth):
    request = export(personalisation_span(1), personalisation_span(2, personalisation__destination=None))

    first = send(client, auth, request, **{"Idempotency-Key": "export-1"})
    retry = send(client, auth, request, **{"Idempotency-Key": "export-1"})

    assert (retry.status_code, retry.content) == (first.status_code, first.content)
    assert export_response(retry).partial_success.rejected_spans == 1
    assert ObservedEdge.objects.get(signal="locale").count == 1
    assert IngestBatch.objects.count() == 1


def test_an_idempotency_key_reused_for_another_export_is_refused(client, auth):
    send(client, auth, export(personalisation_span(1)), **{"Idempotency-Key": "export-1"})

    response = send(client, auth, export(personalisation_span(2)), **{"Idempotency-Key": "export-1"})

    assert response.status_code == 422
    assert ObservedEdge.objects.get(signal="locale").count == 1
