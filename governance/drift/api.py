"""The two ways telemetry comes in: a JSON batch of observations, and OTLP/HTTP trace exports.

Both authenticate by bearer token (scope `observations:write`), never by session, and both hand the
items to `ingest_observations`; the views only read, decode and answer.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import zlib
from collections.abc import Iterator

import orjson
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from governance.accounts.models import ApiToken, TokenScope
from governance.accounts.tokens import TokenInvalid, bearer, token_authenticate
from governance.drift import otlp
from governance.drift.ingest import IngestOutcome, MalformedBatch, Refusal, decode_json_batch, ingest_observations

IDEMPOTENCY_KEY_MAX = 200


class BodyRefused(Exception):
    """The request body cannot be taken: `status` and `error` say how to answer."""

    def __init__(self, status: int, error: str, detail: str):
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail


CHALLENGE = {"WWW-Authenticate": "Bearer"}
RETRY_LATER = {"Retry-After": "5"}


def json_response(status: int, body: dict, headers: dict | None = None) -> HttpResponse:
    return HttpResponse(orjson.dumps(body), status=status, content_type="application/json", headers=headers)


def authenticate_shipper(request: HttpRequest) -> ApiToken:
    """The token behind the Authorization header, allowed to write observations (or TokenInvalid)."""
    return token_authenticate(bearer(request), scope=TokenScope.OBSERVATIONS_WRITE)


def read_body(request: HttpRequest) -> bytes:
    """The (decompressed) body, refused when larger than the limit, checked before and after reading."""
    limit = settings.GOVERNANCE["OBSERVATIONS_MAX_BODY_BYTES"]
    too_large = f"A request body may be at most {limit} bytes (uncompressed). Send smaller batches."
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError as error:
        raise BodyRefused(400, Refusal.MALFORMED, "Content-Length must be a number.") from error
    if declared > limit:
        raise BodyRefused(413, Refusal.TOO_LARGE, too_large)
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise BodyRefused(413, Refusal.TOO_LARGE, too_large)
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise BodyRefused(415, Refusal.UNSUPPORTED_ENCODING, "Send the body uncompressed, gzip or deflate.")
    wbits = 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
    body, rest = b"", raw
    try:
        while rest:  # gzip allows several members one after another
            inflater = zlib.decompressobj(wbits)
            body += inflater.decompress(rest, limit + 1 - len(body))
            if len(body) > limit or inflater.unconsumed_tail:
                raise BodyRefused(413, Refusal.TOO_LARGE, too_large)
            if not inflater.eof:
                raise BodyRefused(400, Refusal.MALFORMED, f"The {encoding} body is truncated.")
            rest = inflater.unused_data
    except zlib.error as error:
        raise BodyRefused(400, Refusal.MALFORMED, f"The body is not valid {encoding}: {error}") from error
    return body


def idempotency_key(request: HttpRequest) -> str | None:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return None
    if len(key) > IDEMPOTENCY_KEY_MAX or not key.isascii() or not key.isprintable():
        raise BodyRefused(
            400, Refusal.MALFORMED, f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} printable ASCII characters."
        )
    return key


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a batch is decoded and ingested.

    A batch of 1,000 observations allocates some 1,000 objects (structs or dicts) and 10,000 strings that
    live until the answer is sent and form no reference cycles (reference counting frees them all); meanwhile
    they would trigger the collector again and again, each time walking every young object of the process: about a
    tenth of a batch's CPU. Other threads' garbage waits for the next collection, a few milliseconds on.
    """
    pause = gc.isenabled()
    if pause:
        gc.disable()
    try:
        yield
    finally:
        if pause:
            gc.enable()


def unavailable() -> tuple[int, str]:
    return 503, "The database is busy or unavailable; retry the same request (and Idempotency-Key) shortly."


def ingest_json_batch(body: bytes, *, token: ApiToken, idempotency_key: str | None) -> IngestOutcome:
    """Decode and ingest a JSON batch. Its thousands of objects are freed when this returns, which
    `collector_paused` relies on."""
    try:
        items = decode_json_batch(body)
        return ingest_observations(
            items, token=token, idempotency_key=idempotency_key, body_sha256=key_digest(body, idempotency_key)
        )
    except MalformedBatch as error:  # (the exact route decodes the body again, as plain JSON)
        raise BodyRefused(400, Refusal.MALFORMED, str(error)) from error


def ingest_otlp_export(body: bytes, encoding: str, *, token: ApiToken, idempotency_key: str | None) -> tuple:
    """Decode and ingest an OTLP export; (status, encoded answer). Its objects are freed when it returns."""
    found = otlp.observations_from_spans(otlp.decode_export_request(body, encoding))
    if found.end_user:
        return otlp.status_body(*otlp.refuse_end_user_data(found), encoding)
    outcome = ingest_observations(
        found.items, token=token, idempotency_key=idempotency_key, body_sha256=key_digest(body, idempotency_key)
    )
    return otlp.export_response(outcome, found, encoding)


def key_digest(body: bytes, idempotency_key: str | None) -> str:
    """The body's SHA-256, stored with an Idempotency-Key to tell a retry from another batch under the same
    key; without a key nothing reads it, so a ~200 KB body is not hashed for nothing."""
    return hashlib.sha256(body).hexdigest() if idempotency_key else ""


@csrf_exempt
@login_not_required
@require_POST
def observations(request: HttpRequest) -> HttpResponse:
    """POST /api/v1/observations: a JSON batch; answers {"accepted": N, "rejected": [...]}."""
    try:
        token = authenticate_shipper(request)
        key = idempotency_key(request)
        body = read_body(request)
        with collector_paused():
            outcome = ingest_json_batch(body, token=token, idempotency_key=key)
    except TokenInvalid as error:
        return json_response(401, {"error": Refusal.UNAUTHORIZED, "detail": str(error)}, CHALLENGE)
    except BodyRefused as refusal:
        return json_response(refusal.status, {"error": refusal.error, "detail": refusal.detail})
    except OperationalError:
        status, detail = unavailable()
        return json_response(status, {"error": Refusal.UNAVAILABLE, "detail": detail}, RETRY_LATER)
    return json_response(outcome.status_code, outcome.body)


@csrf_exempt
@login_not_required
@require_POST
def otlp_traces(request: HttpRequest) -> HttpResponse:
    """POST /v1/traces: an OTLP/HTTP trace export (protobuf or JSON); personalisation spans count."""
    encoding = otlp.CONTENT_TYPES.get(request.content_type or "")

    def answer(status: int, payload: bytes, headers: dict | None = None) -> HttpResponse:
        return HttpResponse(payload, status=status, content_type=encoding or otlp.JSON, headers=headers)

    try:
        token = authenticate_shipper(request)
        if encoding is None:
            detail = f"Send Content-Type {otlp.PROTOBUF} or {otlp.JSON}."
            return answer(*otlp.status_body(415, detail, otlp.JSON))
        key = idempotency_key(request)
        body = read_body(request)
        with collector_paused():
            status, payload = ingest_otlp_export(body, encoding, token=token, idempotency_key=key)
    except TokenInvalid as error:
        return answer(*otlp.status_body(401, str(error), encoding or otlp.JSON), CHALLENGE)
    except BodyRefused as refusal:
        return answer(*otlp.status_body(refusal.status, refusal.detail, encoding))
    except otlp.OtlpMalformed as error:
        return answer(*otlp.status_body(400, str(error), encoding))
    except OperationalError:
        return answer(*otlp.status_body(*unavailable(), encoding or otlp.JSON), RETRY_LATER)
    return answer(status, payload)
