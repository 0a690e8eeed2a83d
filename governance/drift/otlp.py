"""OTLP/HTTP traces as observations: decode an export request, turn personalisation spans into items.

A span that carries `personalisation.feature` (plus `personalisation.signals`, `.destination`,
`.service_identity`, optionally `.credential_ttl_seconds`) becomes one observation per signal, observed
when the span ended, in the environment its resource names. Other spans are ignored: they are not
observations. The items then go through `ingest_observations` like a JSON batch, and its answer is
spelled back the OTLP way (partial success per rejected span, `google.rpc.Status` for refusals), in
the encoding of the request.
"""

from __future__ import annotations

import base64
import binascii
import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from governance.drift.ingest import IngestOutcome, Refusal, end_user_value_kind, is_end_user_key

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
CONTENT_TYPES = {PROTOBUF: PROTOBUF, "application/protobuf": PROTOBUF, JSON: JSON}

FEATURE = "personalisation.feature"
SIGNALS = "personalisation.signals"
DESTINATION = "personalisation.destination"
IDENTITY = "personalisation.service_identity"
CREDENTIAL_TTL = "personalisation.credential_ttl_seconds"
ENVIRONMENT_KEYS = ("deployment.environment.name", "deployment.environment")
DEFAULT_ENVIRONMENT = "production"
MESSAGES_SHOWN = 10

# How our refusals read as gRPC codes in a google.rpc.Status body.
STATUS_CODES = {
    400: code_pb2.INVALID_ARGUMENT,
    401: code_pb2.UNAUTHENTICATED,
    409: code_pb2.ABORTED,
    413: code_pb2.RESOURCE_EXHAUSTED,
    415: code_pb2.INVALID_ARGUMENT,
    422: code_pb2.FAILED_PRECONDITION,
    503: code_pb2.UNAVAILABLE,
}


class OtlpMalformed(ValueError):
    """The body is not an OTLP trace export request in the declared encoding."""


@dataclass
class SpanObservations:
    """The observations found in one export request, and what each came from."""

    items: list[dict] = field(default_factory=list)
    item_spans: list[str] = field(default_factory=list)  # the span (by label) each item came from
    span_rejections: dict[str, str] = field(default_factory=dict)  # span label → why it was rejected
    end_user: list[tuple[str, str]] = field(default_factory=list)  # (span label, what was found)


def _ids_to_base64(spans: Iterable[dict]) -> None:
    # OTLP/JSON spells trace and span ids in hex where protobuf's JSON mapping expects base64.
    for span in spans:
        records = [span, *(span.get("links") or [])] if isinstance(span, dict) else []
        for record in records:
            for key in ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"):
                value = record.get(key) if isinstance(record, dict) else None
                if isinstance(value, str) and value:
                    try:
                        record[key] = base64.b64encode(bytes.fromhex(value)).decode()
                    except ValueError as error:
                        raise OtlpMalformed(f"{key} must be hex, as OTLP/JSON spells ids") from error


def decode_export_request(body: bytes, encoding: str) -> ExportTraceServiceRequest:
    """Parse an ExportTraceServiceRequest from protobuf or OTLP/JSON bytes."""
    request = ExportTraceServiceRequest()
    if encoding == PROTOBUF:
        try:
            request.ParseFromString(body)
        except DecodeError as error:
            raise OtlpMalformed(f"The body is not a protobuf ExportTraceServiceRequest: {error}") from error
        return request
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise OtlpMalformed(f"The body is not valid JSON: {error}") from error
    if not isinstance(document, dict):
        raise OtlpMalformed("An OTLP/JSON export request is an object with resourceSpans.")
    for resource_spans in _dicts(document.get("resourceSpans") or document.get("resource_spans")):
        for scope_spans in _dicts(resource_spans.get("scopeSpans") or resource_spans.get("scope_spans")):
            _ids_to_base64(_dicts(scope_spans.get("spans")))
    try:
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
    except (json_format.ParseError, binascii.Error, TypeError, ValueError) as error:
        raise OtlpMalformed(f"The body is not an OTLP/JSON ExportTraceServiceRequest: {error}") from error
    return request


def _dicts(value: Any) -> list[dict]:
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def _value(any_value) -> Any:
    """An OTLP AnyValue as a plain Python value."""
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [_value(inner) for inner in any_value.array_value.values]
    if kind == "kvlist_value":
        return {pair.key: _value(pair.value) for pair in any_value.kvlist_value.values}
    return getattr(any_value, kind) if kind else None


def _attributes(key_values) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in key_values}


def _end_user_in(attributes: dict[str, Any]) -> str | None:
    for key, value in attributes.items():
        if is_end_user_key(key):
            return f"attribute {key[:60]!r}"
        for text in _strings(value):
            kind = end_user_value_kind(text)
            if kind:
                return f"attribute {key[:60]!r} holds {kind}"
    return None


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner)
    elif isinstance(value, dict):
        for inner in value.values():
            yield from _strings(inner)


def _span_label(span, number: int) -> str:
    return f"span {span.span_id.hex()}" if span.span_id else f"span #{number}"


def _rfc3339(unix_nano: int) -> str:
    moment = datetime.datetime.fromtimestamp(unix_nano // 1_000_000_000, tz=datetime.UTC)
    return moment.replace(microsecond=unix_nano % 1_000_000_000 // 1000).isoformat().replace("+00:00", "Z")


def _string(attributes: dict, key: str) -> str | None:
    value = attributes.get(key)
    return value if isinstance(value, str) else None


def observations_from_spans(request: ExportTraceServiceRequest) -> SpanObservations:
    """One observation per signal of every personalisation span; other spans are ignored."""
    found = SpanObservations()
    number = 0
    for resource_spans in request.resource_spans:
        resource: dict[str, Any] | None = None
        resource_end_user: str | None = None
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                number += 1
                if not any(pair.key == FEATURE for pair in span.attributes):
                    continue
                if resource is None:
                    resource = _attributes(resource_spans.resource.attributes)
                    resource_end_user = _end_user_in(resource)
                label = _span_label(span, number)
                attributes = _attributes(span.attributes)
                end_user = _end_user_in(attributes)
                if end_user or resource_end_user:
                    found.end_user.append((label, end_user or f"resource {resource_end_user}"))
                    continue
                reason = _span_problem(span, attributes)
                if reason:
                    found.span_rejections[label] = reason
                    continue
                item = {
                    "feature": attributes[FEATURE],
                    "service_identity": attributes[IDENTITY],
                    "destination": attributes[DESTINATION],
                    "environment": next(
                        (resource[key] for key in ENVIRONMENT_KEYS if isinstance(resource.get(key), str)),
                        DEFAULT_ENVIRONMENT,
                    ),
                    "observed_at": _rfc3339(span.end_time_unix_nano),
                }
                if CREDENTIAL_TTL in attributes:
                    item["credential_ttl_seconds"] = attributes[CREDENTIAL_TTL]
                signals = attributes[SIGNALS]
                for signal in [signals] if isinstance(signals, str) else signals:
                    found.items.append({**item, "signal": signal})
                    found.item_spans.append(label)
    return found


def _span_problem(span, attributes: dict[str, Any]) -> str | None:
    for key in (FEATURE, IDENTITY, DESTINATION):
        if _string(attributes, key) is None:
            return f"{key} must be a string attribute"
    signals = attributes.get(SIGNALS)
    if isinstance(signals, str):
        signals = [signals]
    if not isinstance(signals, list) or not signals or not all(isinstance(signal, str) for signal in signals):
        return f"{SIGNALS} must be a non-empty string array attribute"
    ttl = attributes.get(CREDENTIAL_TTL)
    if CREDENTIAL_TTL in attributes and (type(ttl) is not int or ttl < 0):
        return f"{CREDENTIAL_TTL} must be a non-negative int attribute"
    if not span.end_time_unix_nano:
        return "the span has no end time"
    return None


def refuse_end_user_data(found: SpanObservations) -> tuple[int, str]:
    shown = "; ".join(f"{label}: {what}" for label, what in found.end_user[:MESSAGES_SHOWN])
    more = f" (and {len(found.end_user) - MESSAGES_SHOWN} more)" if len(found.end_user) > MESSAGES_SHOWN else ""
    return 400, (
        "Observations must not carry end-user data (user ids, emails, IP addresses, session or device ids): "
        f"the whole export was refused and nothing was stored. Found {shown}{more}. "
        "Remove these attributes from personalisation spans and their resource at the source."
    )


def export_response(outcome: IngestOutcome, found: SpanObservations, encoding: str) -> tuple[int, bytes]:
    """The ingestion's answer spelled as OTLP: ExportTraceServiceResponse, or a Status on refusal."""
    if outcome.status_code != 200:
        if outcome.body.get("error") == Refusal.END_USER_DATA:
            return status_body(400, outcome.body["detail"], encoding)
        return status_body(outcome.status_code, outcome.body.get("detail") or outcome.body["error"], encoding)
    rejections = dict(found.span_rejections)
    for rejected in outcome.body["rejected"]:
        rejections.setdefault(found.item_spans[rejected["index"]], rejected["reason"])
    response = ExportTraceServiceResponse()
    if rejections:
        response.partial_success.rejected_spans = len(rejections)
        shown = sorted(rejections.items())[:MESSAGES_SHOWN]
        message = "; ".join(f"{label}: {reason}" for label, reason in shown)
        if len(rejections) > MESSAGES_SHOWN:
            message += f" (and {len(rejections) - MESSAGES_SHOWN} more)"
        response.partial_success.error_message = message
    return 200, _encode(response, encoding)


def status_body(status_code: int, message: str, encoding: str) -> tuple[int, bytes]:
    """A google.rpc.Status body, as OTLP/HTTP servers answer failures."""
    status = status_pb2.Status(code=STATUS_CODES.get(status_code, code_pb2.UNKNOWN), message=message)
    return status_code, _encode(status, encoding)


def _encode(message, encoding: str) -> bytes:
    if encoding == PROTOBUF:
        return message.SerializeToString()
    return json_format.MessageToJson(message, indent=None).encode()
