"""Ingesting observations: the hot path, and the one place that steps outside the ORM.

Where it stands (`manage.py benchmark_ingest`, PostgreSQL 15, 2 cores; 200,000 Zipf-skewed events over
3,000 edges in 1,000-event batches, ~430 paths and ~500 path-days a batch; gunicorn 2 sync workers, 4
clients, best of 3 runs, the clock stopped only once every event is in the edges and days): 0.61–0.71× the
COPY-only reference's events/s over eight runs on a quiet machine (e.g. 303,901 against 497,174), 0.61–0.63×
with another process keeping a core busy. Per batch the real endpoint burns 5.5–5.9 ms of CPU (gunicorn
worker 3.4–3.6, PostgreSQL 1.4–1.7, clients 0.6), the reference 3.7–4.1; before this design 17–20 ms and
0.28×. Of a worker's ~3.5 ms: ~0.85 encoding the staged arrays, ~0.3 msgspec decoding, ~0.55 folding,
~0.3 the staging round trip, ~0.2 Django, ~0.2 SHA-256 of a keyed body.

Telemetry shippers send batches of thousands of events a second. On our 2-core machines a DRF
serializer validates ~44,000 events/s and `bulk_create` writes ~42,000 rows/s, while a bare endpoint
(orjson + one COPY) manages ~290,000 events/s. So this module:

- decodes a JSON batch with msgspec straight into typed `CleanObservation`s (types, bounds and the
  RFC 3339 moment checked in C, no dict per event) and folds it when every observation is valid: a few
  dictionary look-ups per event, since a path's verdict is remembered (telemetry repeats itself). A batch
  with anything unusual in it takes an exact, slower route, item by item, that alone decides what is
  refused and why; a property test holds the two routes to the same result;
- folds the batch in Python as it goes, so 1,000 events become ~430 paths and ~510 path-days;
- on PostgreSQL, answers after *staging* the batch: one prepared statement, its own transaction, that
  takes and releases the Idempotency-Key's advisory lock, stores the key's answer and the folded batch
  as one row of arrays (`StagedBatch`; binary array parameters encoded by hand), and touches no row any
  other batch touches, so concurrent batches never wait for each other;
- *folds* staged batches into the edges and days set-based, many at a time: `INSERT … SELECT … GROUP
  BY … ON CONFLICT DO UPDATE` for the edges, keyed by a 64-bit path hash (`ObservedEdge.path_hash`), and
  for the days, plus the drift marks, in one statement that deletes the staged rows it adds up, so each
  is counted exactly once. Under load a fold adds up dozens of batches whose paths overlap (Zipf: 64
  batches touch ~2,900 paths and ~5,000 path-days, against ~430 and ~510 for one), so a hot edge is
  written once per fold instead of once per batch, and with room left on the pages (fillfactor) its
  new versions need no index entries. Folds take turns by an advisory lock;
- decides when to fold so that a client never has to wait for it and a reader rarely notices: a batch
  staged when none waits is folded by its own request at once (so at ordinary rates an answer means the
  counts are in place, and tests and shippers reading back see them); a batch staged while others wait
  is left to the process's folding thread, which folds once FOLD_AT_BATCHES wait or the oldest has
  waited FOLD_AFTER_SECONDS. Drift evaluation reads folded data only: a fold is what marks a feature
  for evaluation.

On SQLite (the embedded default) a batch's record, edges and days are written directly, inside one
transaction (`executemany` of the same upserts): SQLite serialises writers, there is nothing to coalesce.
Raw events are never stored. An `Idempotency-Key` stores the batch's answer (`IngestBatch`) in the same
transaction as the batch, so a retry gets the same answer and counts once; a crashed web worker loses
nothing, since a batch is answered only once it is committed (staged or written).
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import ipaddress
import logging
import os
import re
import struct
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache, partial
from operator import attrgetter, itemgetter
from typing import Annotated, Any

import msgspec
import orjson
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from features.models import Feature
from governance.accounts.models import ApiToken
from governance.accounts.tokens import token_team_ids
from governance.drift import scheduling
from governance.drift.models import IngestBatch, path_hash

logger = logging.getLogger(__name__)

FIELDS = (
    "feature",
    "service_identity",
    "signal",
    "destination",
    "environment",
    "observed_at",
    "count",
    "credential_ttl_seconds",
)
ALLOWED_FIELDS = frozenset(FIELDS)
IDENTIFIER_FIELDS = FIELDS[:5]

FEATURE_OR_SIGNAL = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")
IDENTITY_OR_DESTINATION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,119}")
ENVIRONMENT = re.compile(r"[a-z0-9_-]{1,40}")
PATTERNS = {
    "feature": FEATURE_OR_SIGNAL,
    "service_identity": IDENTITY_OR_DESTINATION,
    "signal": FEATURE_OR_SIGNAL,
    "destination": IDENTITY_OR_DESTINATION,
    "environment": ENVIRONMENT,
}
SPELLING = {
    "feature": "a lower-case key: [a-z0-9][a-z0-9._-]{0,79}",
    "service_identity": "an identity name: [A-Za-z0-9][A-Za-z0-9._:/-]{0,119}",
    "signal": "a lower-case key: [a-z0-9][a-z0-9._-]{0,79}",
    "destination": "a destination name: [A-Za-z0-9][A-Za-z0-9._:/-]{0,119}",
    "environment": "a lower-case name: [a-z0-9_-]{1,40}",
}

FUTURE_TOLERANCE = datetime.timedelta(minutes=5)
MAX_AGE = datetime.timedelta(days=400)
COUNT_MAX = 1_000_000_000
TTL_MAX = 2**53  # far beyond any credential's lifetime, well inside a bigint

# End-user data: keys that name a person (or their device, session or address), and values shaped like
# an email or IP address. Keys are compared without case and punctuation: user_id, userId, user.id.
END_USER_KEYS = frozenset(
    {
        "ip",
        "ipaddr",
        "ipaddress",
        "ipv4",
        "ipv6",
        "clientip",
        "clientaddress",
        "remoteaddr",
        "remoteaddress",
        "remoteip",
        "peerip",
        "netpeerip",
        "sourceip",
        "sourceaddress",
        "srcip",
        "xforwardedfor",
        "forwardedfor",
        "email",
        "emailaddress",
        "mail",
        "user",
        "uid",
        "sessionid",
        "deviceid",
        "customerid",
        "visitorid",
        "anonymousid",
        "personid",
        "phone",
        "phonenumber",
        "msisdn",
        "idfa",
        "gaid",
        "advertisingid",
        "cookieid",
    }
)
END_USER_KEY_PREFIXES = ("user", "enduser")
END_USER_KEY_SUFFIXES = (
    "userid",
    "username",
    "email",
    "emailaddress",
    "ipaddress",
    "clientip",
    "sessionid",
    "deviceid",
    "customerid",
    "visitorid",
    "peeraddress",
    "peeraddr",
    "peerip",
    "forwardedfor",
    "phonenumber",
)
END_USER_KEY_WORDS = frozenset({"ip", "ipv4", "ipv6", "email", "mail"})
KEY_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
IPV4 = re.compile(r"(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}(?::\d{1,5})?")
IPV6_SHAPE = re.compile(r"\[?([0-9A-Fa-f:.]+)(?:%[\w.-]+)?\]?(?::\d{1,5})?")


class Refusal(StrEnum):
    """The error codes our 4xx bodies carry (`{"error": code, "detail": …}`)."""

    END_USER_DATA = "end_user_data"
    TOO_LARGE = "too_large"
    MALFORMED = "malformed"
    UNAUTHORIZED = "unauthorized"
    KEY_REUSED = "idempotency_key_reused"
    IN_PROGRESS = "in_progress"
    UNSUPPORTED_ENCODING = "unsupported_encoding"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class IngestOutcome:
    """The answer to one batch: an HTTP status and a JSON-serialisable body."""

    status_code: int
    body: dict[str, Any]


@lru_cache(maxsize=4096)
def is_end_user_key(key: str) -> bool:
    """Whether a field or attribute name denotes end-user data (user.id, userId, client_ip, …)."""
    flat = re.sub(r"[^a-z0-9]", "", key.lower())
    if flat in END_USER_KEYS or flat.startswith(END_USER_KEY_PREFIXES) or flat.endswith(END_USER_KEY_SUFFIXES):
        return True
    return any(word.lower() in END_USER_KEY_WORDS for word in KEY_WORDS.findall(key))


def end_user_value_kind(value: str) -> str | None:
    """'an email address' or 'an IP address' when the string is (or, for emails, holds) one."""
    if "@" in value and EMAIL.search(value):
        return "an email address"
    if not value or len(value) > 64:
        return None
    if value[0].isdigit() and IPV4.fullmatch(value):
        return "an IP address"
    if value.count(":") >= 2 and (shape := IPV6_SHAPE.fullmatch(value)):
        try:
            ipaddress.IPv6Address(shape.group(1))
        except ValueError:
            return None
        return "an IP address"
    return None


def end_user_finding(value: Any, _depth: int = 0) -> str | None:
    """Where end-user data hides in a JSON value (keys and values, nested), described without the value."""
    if isinstance(value, str):
        kind = end_user_value_kind(value)
        return f"a value shaped like {kind}" if kind else None
    if _depth > 16:
        return None
    if isinstance(value, dict):
        for key, inner in value.items():
            if isinstance(key, str) and is_end_user_key(key):
                return f"a field named {key[:60]!r}"
            found = end_user_finding(inner, _depth + 1)
            if found:
                return found
    elif isinstance(value, list):
        for inner in value:
            found = end_user_finding(inner, _depth + 1)
            if found:
                return found
    return None


@lru_cache(maxsize=8192)  # paths repeat across batches; a verdict depends on the path alone
def _path_verdict(path: tuple) -> str | None:
    """None when the five identifiers are well-formed, else why not (first problem only)."""
    for field, value in zip(IDENTIFIER_FIELDS, path, strict=True):
        if value is None:
            return f"{field} is missing"
        if type(value) is not str:
            return f"{field} must be a string"
        if not PATTERNS[field].fullmatch(value):
            return f"{field} must be {SPELLING[field]}"
        if end_user_value_kind(value):
            return f"{field} carries end-user data"
    return None


# An observed_at is valid when it is an RFC 3339 date-time with a time zone as msgspec reads it (fractions
# beyond microseconds rounded): one definition for the batch decoder (`CleanObservation`) and the exact route.
ZonedDateTime = Annotated[datetime.datetime, msgspec.Meta(tz=True)]


_to_zoned_datetime = partial(msgspec.convert, type=ZonedDateTime)


def _moment(value: str) -> datetime.datetime:
    """The date-time `value` spells, in UTC; msgspec.ValidationError when it is not one."""
    moment = _to_zoned_datetime(value)
    return moment if moment.tzinfo is datetime.UTC else moment.astimezone(datetime.UTC)


def _observed_at(value: Any, now: datetime.datetime) -> tuple[datetime.datetime, datetime.date] | str:
    """(the moment in UTC, its UTC day), or why the value is not a usable observed_at."""
    if value is None:
        return "observed_at is missing"
    if type(value) is not str:
        return "observed_at must be an RFC 3339 date-time with a time zone, e.g. 2026-01-31T12:00:00Z"
    try:
        moment = _moment(value)
    except msgspec.ValidationError:
        # RFC 3339's shape, by position: date, T, time, then Z or ±hh:mm. Right shape, wrong values?
        if (
            len(value) < 20
            or value[4] != "-"
            or value[7] != "-"
            or value[10] not in "Tt "
            or value[13] != ":"
            or value[16] != ":"
            or value[19] not in ".Zz+-"
            or (value[-1] not in "Zz" and (value[-6] not in "+-" or value[-3] != ":"))
        ):
            return "observed_at must be an RFC 3339 date-time with a time zone, e.g. 2026-01-31T12:00:00Z"
        return "observed_at is not a real date-time"
    if moment > now + FUTURE_TOLERANCE:
        return "observed_at is more than 5 minutes in the future"
    if moment < now - MAX_AGE:
        return "observed_at is older than 400 days"
    return moment, moment.date()


def _item_problem(item: Any, now: datetime.datetime) -> str:
    """Why an item is not a valid observation: the first problem, in field order."""
    if type(item) is not dict:
        return "an observation must be a JSON object"
    if not item.keys() <= ALLOWED_FIELDS:
        unknown = ", ".join(sorted(str(key)[:40] for key in item.keys() - ALLOWED_FIELDS)[:5])
        return f"unknown field(s): {unknown}; allowed: {', '.join(FIELDS)}"
    path = tuple(item.get(field) for field in IDENTIFIER_FIELDS)
    verdict = _path_verdict.__wrapped__(path)  # the path may hold unhashable values here
    if verdict:
        return verdict
    when = _observed_at(item.get("observed_at"), now)
    if type(when) is str:
        return when
    count = item.get("count")
    if count is not None and (type(count) is not int or not 1 <= count <= COUNT_MAX):
        return f"count must be a whole number from 1 to {COUNT_MAX}"
    ttl = item.get("credential_ttl_seconds")
    if ttl is not None and (type(ttl) is not int or not 0 <= ttl <= TTL_MAX):
        return "credential_ttl_seconds must be a whole number of seconds, 0 or more"
    return "not a valid observation"


@dataclass
class Folded:
    """A validated batch, folded: edges[path] = [count, first seen, last seen, max ttl, {day: count}]."""

    edges: dict[tuple, list]
    accepted: int
    rejected: list[tuple[int, str]]
    end_user: list[tuple[int, str]]
    indexes_by_feature: dict[str, list[int]] | None


_pick_path = itemgetter(*IDENTIFIER_FIELDS)
_UNSEEN = object()
# Verdicts of the paths this process has seen (`_path_verdict`): telemetry names the same few thousand.
_known_paths: dict[tuple, str | None] = {}
_KNOWN_PATHS_AT_MOST = 65_536


def _known_path_verdict(path: tuple) -> str | None:
    """`_path_verdict`, remembered for the process (TypeError for a path holding a list or an object)."""
    verdict = _known_paths.get(path, _UNSEEN)
    if verdict is _UNSEEN:
        if len(_known_paths) >= _KNOWN_PATHS_AT_MOST:
            _known_paths.clear()
        verdict = _known_paths[path] = _path_verdict(path)
    return verdict


# --- decoding a JSON batch ------------------------------------------------------------------------------------


class MalformedBatch(ValueError):
    """The body is not a JSON batch of observations (the message says why)."""


class CleanObservation(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """An observation whose fields all have their types and bounds, as msgspec decodes it from JSON (in C,
    without building a dict per item). Whether its names are well-formed and its moment in range is left
    to `_fold_clean`."""

    feature: str
    service_identity: str
    signal: str
    destination: str
    environment: str
    observed_at: ZonedDateTime
    count: Annotated[int, msgspec.Meta(ge=1, le=COUNT_MAX)] = 1
    credential_ttl_seconds: Annotated[int, msgspec.Meta(ge=0, le=TTL_MAX)] | None = None


class _CleanEnvelope(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    observations: list[CleanObservation]


_clean_batch = msgspec.json.Decoder(list[CleanObservation] | _CleanEnvelope)


class CleanBatch(list):
    """A JSON batch every item of which decoded as a `CleanObservation`; `body` is kept for the exact
    route, should an item's names or moment not pass."""

    def __init__(self, observations: list[CleanObservation], body: bytes):
        super().__init__(observations)
        self.body = body


def decode_json_batch(body: bytes) -> list:
    """The observations of a JSON batch (an array, or {"observations": [...]} and nothing else).

    Telemetry is nearly always clean, so msgspec first decodes the whole body into `CleanObservation`s
    (a CleanBatch); if any item is off in any way (a null count, a missing field, a float), the body is
    decoded as plain JSON values for the exact route instead. MalformedBatch when it is not a batch at all.
    """
    try:
        decoded = _clean_batch.decode(body)
    except ValueError:  # msgspec's DecodeError and ValidationError, and UnicodeDecodeError
        return json_batch_items(body)
    return CleanBatch(decoded.observations if type(decoded) is _CleanEnvelope else decoded, body)


def json_batch_items(body: bytes) -> list:
    """The items of a JSON batch as JSON values (dicts, for well-formed items)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise MalformedBatch(f"The body is not valid JSON: {error}") from error
    if isinstance(document, dict) and document.keys() == {"observations"}:
        document = document["observations"]
    if not isinstance(document, list):
        raise MalformedBatch(
            'Send a JSON array of observations, or an object {"observations": [...]} and nothing else.'
        )
    return document


# --- validating and folding -----------------------------------------------------------------------------------


def _fold_clean(batch: CleanBatch, now: datetime.datetime, *, track_features: bool) -> Folded | None:
    """Fold a clean batch when every observation in it is valid (well-formed names without end-user data,
    a moment within range): the rules of `_exact_observation`, which msgspec's types have mostly checked
    already. None as soon as one is not: then the exact route takes the whole batch."""
    edges: dict[tuple, list] = {}
    by_feature: dict[str, list[int]] | None = {} if track_features else None
    edges_get, verdict_of = edges.get, _known_path_verdict
    earliest, latest, utc = now - MAX_AGE, now + FUTURE_TOLERANCE, datetime.UTC
    pick = _pick_clean_path

    for observation in batch:
        path = pick(observation)
        moment = observation.observed_at
        if moment.tzinfo is not utc:
            moment = moment.astimezone(utc)
        if not earliest <= moment <= latest:
            return None
        count, ttl = observation.count, observation.credential_ttl_seconds
        edge = edges_get(path)
        if edge is None:
            if verdict_of(path) is not None:
                return None
            edges[path] = [count, moment, moment, ttl, {moment.date(): count}]
        else:
            edge[0] += count
            if moment < edge[1]:
                edge[1] = moment
            elif moment > edge[2]:
                edge[2] = moment
            if ttl is not None and (edge[3] is None or ttl > edge[3]):
                edge[3] = ttl
            days, day = edge[4], moment.date()
            days[day] = days.get(day, 0) + count
    if by_feature is not None:
        for index, observation in enumerate(batch):
            by_feature.setdefault(observation.feature, []).append(index)
    return Folded(edges, len(batch), [], [], by_feature)


_pick_clean_path = attrgetter(*IDENTIFIER_FIELDS)


class _OffTheCommonPath(Exception):
    """An item the fast checks cannot vouch for: the exact route decides."""


_OFF_THE_COMMON_PATH = _OffTheCommonPath()


def _validate_and_fold(items: list, now: datetime.datetime, *, track_features: bool) -> Folded:
    """Check every item and fold the valid ones into their edges, in one pass.

    A CleanBatch whose observations are all valid is folded by `_fold_clean`. Otherwise, item by item:
    the common item (a path seen before, a UTC moment, nothing unusual) costs a few dictionary look-ups
    and one parse. Anything else takes the exact route (`_exact_observation`, which alone decides what is
    valid, and for a rejected item `_item_problem`, after a search for end-user data); the fast checks
    only ever send an item there, never refuse one.
    """
    if type(items) is CleanBatch:
        folded = _fold_clean(items, now, track_features=track_features)
        if folded is not None:
            return folded
        items = json_batch_items(items.body)
    edges: dict[tuple, list] = {}
    rejected: list[tuple[int, str]] = []
    end_user: list[tuple[int, str]] = []
    by_feature: dict[str, list[int]] | None = {} if track_features else None
    known_get, edges_get, to_moment = _known_paths.get, edges.get, _to_zoned_datetime
    unseen, off, utc = _UNSEEN, _OFF_THE_COMMON_PATH, datetime.UTC
    earliest, latest = now - MAX_AGE, now + FUTURE_TOLERANCE

    for index, item in enumerate(items):
        try:
            path = _pick_path(item)
            stamp = item["observed_at"]
            edge = edges_get(path)  # a path already in this batch's edges is well-formed
            if (edge is None and known_get(path, unseen) is not None) or type(stamp) is not str:
                raise off
            moment = to_moment(stamp)
            if moment.tzinfo is not utc or not earliest <= moment <= latest:
                raise off
            if len(item) == 6:  # the six required fields and nothing else
                count, ttl = 1, None
            else:
                count, ttl = item.get("count", 1), item.get("credential_ttl_seconds")
                if not (
                    item.keys() <= ALLOWED_FIELDS
                    and (count is None or (type(count) is int and 1 <= count <= COUNT_MAX))
                    and (ttl is None or (type(ttl) is int and 0 <= ttl <= TTL_MAX))
                ):
                    raise off
                count = 1 if count is None else count
            day = moment.date()
        except (KeyError, TypeError, ValueError, _OffTheCommonPath):
            valid = _exact_observation(item, now)
            if valid is None:
                # Any rejected item is searched for end-user data first: one such item refuses the batch.
                found = end_user_finding(item)
                if found:
                    end_user.append((index, found))
                else:
                    rejected.append((index, _item_problem(item, now)))
                continue
            path, moment, day, count, ttl = valid
            edge = edges_get(path)

        if edge is None:
            edges[path] = [count, moment, moment, ttl, {day: count}]
        else:
            edge[0] += count
            if moment < edge[1]:
                edge[1] = moment
            elif moment > edge[2]:
                edge[2] = moment
            if ttl is not None and (edge[3] is None or ttl > edge[3]):
                edge[3] = ttl
            days = edge[4]
            days[day] = days.get(day, 0) + count
        if by_feature is not None:
            by_feature.setdefault(path[0], []).append(index)
    accepted = len(items) - len(rejected) - len(end_user)
    return Folded(edges, accepted, rejected, end_user, by_feature)


def _exact_observation(item: Any, now: datetime.datetime) -> tuple | None:
    """(path, moment in UTC, UTC day, count, credential lifetime) of a valid item, else None: the rules
    `_item_problem` explains, in the same order."""
    if type(item) is not dict or not item.keys() <= ALLOWED_FIELDS:
        return None
    path = tuple(item.get(field) for field in IDENTIFIER_FIELDS)
    try:
        verdict = _known_path_verdict(path)
    except TypeError:  # a list or an object where a name belongs
        return None
    if verdict is not None:
        return None
    when = _observed_at(item.get("observed_at"), now)
    if type(when) is not tuple:
        return None
    count, ttl = item.get("count"), item.get("credential_ttl_seconds")
    if count is not None and (type(count) is not int or not 1 <= count <= COUNT_MAX):
        return None
    if ttl is not None and (type(ttl) is not int or not 0 <= ttl <= TTL_MAX):
        return None
    return path, *when, 1 if count is None else count, ttl


def _drop_foreign_features(team_ids: set[int] | None, folded: Folded) -> None:
    """Reject the items of registered features outside the token's teams (unregistered keys are shadow
    features: welcome)."""
    if team_ids is None or not folded.indexes_by_feature:
        return
    registered = Feature.objects.filter(key__in=list(folded.indexes_by_feature)).exclude(team_id__in=team_ids)
    foreign = set(registered.values_list("key", flat=True))
    if not foreign:
        return
    for feature in foreign:
        indexes = folded.indexes_by_feature[feature]
        folded.rejected.extend((index, f"feature {feature} belongs to another team") for index in indexes)
        folded.accepted -= len(indexes)
    folded.rejected.sort()
    folded.edges = {path: edge for path, edge in folded.edges.items() if path[0] not in foreign}


# --- writing --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchRecord:
    """The answer stored under a batch's Idempotency-Key, in the same transaction as its counts."""

    token_id: int
    idempotency_key: str
    body_sha256: str
    status_code: int
    response: dict[str, Any]

    @property
    def lock_key(self) -> int:
        """The key's advisory lock on PostgreSQL (a bigint from its SHA-256)."""
        digest = hashlib.sha256(f"drift.ingest:{self.token_id}:{self.idempotency_key}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(frozen=True)
class BatchWrite:
    """What an accepted batch writes: its edges with their days, and its record if it came with a key."""

    edges: dict[tuple, list]
    record: BatchRecord | None

    @property
    def feature_keys(self) -> list[str]:
        return sorted({path[0] for path in self.edges})


class KeyInProgress(Exception):
    """Another request holds this Idempotency-Key right now."""


class KeyRecordedMeanwhile(Exception):
    """Another request recorded an Idempotency-Key of this write after our look-up: nothing was written."""


class PathHashCollision(Exception):
    """Two different paths share a 64-bit path hash: refused rather than counted on the wrong edge."""


@dataclass(frozen=True)
class Fold:
    """What one fold of staged batches did (PostgreSQL)."""

    batches: int  # staged batches folded
    edges: int  # edges written (inserted or added to)
    collisions: int  # paths left out because another path has their path hash (see `path_hash`)


# --- PostgreSQL: stage, then fold -----------------------------------------------------------------------------

# Staging: one statement, one round trip. With an Idempotency-Key, it takes the key's advisory lock (if
# another request holds it, nothing else happens: "in progress") and reads the answer stored under the key
# (if there is one, nothing else happens: the retry gets it). Otherwise it stores the key's answer (unless
# another request recorded the key after this statement began: then nothing at all) and the batch, folded
# per path and day, as one row of arrays in drift_stagedbatch; it says how many other batches are waiting
# and how long the oldest has; last, it lets the key's lock go. A request that takes the lock before this
# commits and finds no answer yet is caught by its own insert, which waits for ours.
# The row holds two sets of arrays: per path, its hash, its five names joined by \x1f (which no name may
# contain), its count, first and last seen, and longest credential lifetime; per path and day, the path's
# hash, the day and the count.
POSTGRESQL_STAGE = """
WITH claim AS (
    SELECT lock_key, pg_try_advisory_lock(lock_key) AS held FROM unnest(%b::bigint[]) AS lock_key
), earlier AS (
    SELECT earlier.body_sha256, earlier.status_code, earlier.response::text AS response
    FROM drift_ingestbatch AS earlier
    WHERE (SELECT bool_and(held) FROM claim) AND earlier.token_id = %b::bigint AND earlier.idempotency_key = %b::text
), go AS (
    SELECT (SELECT bool_and(held) FROM claim) IS NOT FALSE AND NOT EXISTS (SELECT FROM earlier) AS go
), batch AS (
    INSERT INTO drift_ingestbatch (token_id, idempotency_key, body_sha256, status_code, response, received_at)
    SELECT token_id, idempotency_key, body_sha256, status_code, response::jsonb, now()
    FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::bigint[], %b::text[])
        AS record (token_id, idempotency_key, body_sha256, status_code, response)
    WHERE (SELECT go FROM go)
    ON CONFLICT (token_id, idempotency_key) DO NOTHING
    RETURNING 1
), recorded AS (
    SELECT count(*) = %b::bigint AS every_record FROM batch
), staged AS (
    INSERT INTO drift_stagedbatch
        (received_at, feature_keys, path_hash, names, n, first_seen, last_seen, ttl, day_path_hash, "day", day_n)
    SELECT now(), %b::text[], %b::bigint[], %b::text[], %b::bigint[], %b::timestamptz[], %b::timestamptz[],
           %b::bigint[], %b::bigint[], %b::date[], %b::bigint[]
    WHERE (SELECT go FROM go) AND (SELECT every_record FROM recorded) AND %b::boolean
    RETURNING 1
), waiting AS (
    -- Other batches staged, and of those, the ones no running fold is taking yet (it sets their xmax).
    SELECT count(*) AS batches, count(*) FILTER (WHERE xmax = '0'::xid) AS unclaimed,
           coalesce(extract(epoch FROM clock_timestamp() - min(received_at) FILTER (WHERE xmax = '0'::xid)), 0)
               AS unclaimed_age
    FROM drift_stagedbatch
)
SELECT (SELECT bool_and(held) FROM claim) IS NOT FALSE, earlier.body_sha256, earlier.status_code, earlier.response,
       (SELECT count(*) FROM batch), (SELECT count(*) FROM staged), waiting.batches, waiting.unclaimed,
       waiting.unclaimed_age::float8, (SELECT pg_advisory_unlock(lock_key) FROM claim WHERE held)
FROM waiting LEFT JOIN earlier ON true
"""

# Folding: every staged batch visible now, in one statement and one transaction, in the order rows are
# locked: the staged rows (deleted as they are read, so each is folded exactly once however many folds
# run); the features marked for drift evaluation (before any edge is locked: a mark may wait for an
# evaluation that holds its key); the edges, by path hash in hash order; then the days, joined to the
# edges' ids. A path whose staged names disagree, or disagree with its stored edge, shares its hash with
# another path: it is left out and counted (`Fold.collisions`) rather than added to the wrong edge. Folds
# take turns by an advisory lock: `{lock}` tries it (and gives up when a fold is running) or waits for it.
POSTGRESQL_FOLD = """
WITH fold_lock AS (
    SELECT {lock} AS held
), staged AS (
    DELETE FROM drift_stagedbatch WHERE (SELECT held FROM fold_lock)
    RETURNING feature_keys, path_hash, names, n, first_seen, last_seen, ttl, day_path_hash, "day", day_n
), path AS (
    SELECT path_hash, names, sum(n) AS n, min(first_seen) AS first_seen, max(last_seen) AS last_seen,
           max(ttl) AS ttl, count(*) OVER (PARTITION BY path_hash) = 1 AS one_path
    FROM (
        SELECT unnest(path_hash) AS path_hash, unnest(names) AS names, unnest(n) AS n,
               unnest(first_seen) AS first_seen, unnest(last_seen) AS last_seen, unnest(ttl) AS ttl
        FROM staged
    ) AS path_row
    GROUP BY path_hash, names
), pending AS (
    INSERT INTO drift_driftpending (feature_key, since)
    SELECT feature_key, now() FROM (SELECT DISTINCT unnest(feature_keys) AS feature_key FROM staged) AS marked
    ORDER BY feature_key
    ON CONFLICT (feature_key) DO NOTHING
    RETURNING 1
), edge AS (
    INSERT INTO drift_observededge AS observed_edge
        (path_hash, feature_key, service_identity, signal, destination, environment,
         "count", first_seen, last_seen, max_credential_ttl_seconds)
    SELECT path_hash, split_part(names, E'\\x1f', 1), split_part(names, E'\\x1f', 2), split_part(names, E'\\x1f', 3),
           split_part(names, E'\\x1f', 4), split_part(names, E'\\x1f', 5), n, first_seen, last_seen, ttl
    FROM path
    WHERE one_path AND (SELECT count(*) FROM pending) >= 0
    ORDER BY path_hash
    ON CONFLICT (path_hash) DO UPDATE SET
        "count" = observed_edge."count" + EXCLUDED."count",
        first_seen = LEAST(observed_edge.first_seen, EXCLUDED.first_seen),
        last_seen = GREATEST(observed_edge.last_seen, EXCLUDED.last_seen),
        max_credential_ttl_seconds = GREATEST(
            observed_edge.max_credential_ttl_seconds, EXCLUDED.max_credential_ttl_seconds)
    WHERE (observed_edge.feature_key, observed_edge.service_identity, observed_edge.signal,
           observed_edge.destination, observed_edge.environment)
        = (EXCLUDED.feature_key, EXCLUDED.service_identity, EXCLUDED.signal,
           EXCLUDED.destination, EXCLUDED.environment)
    RETURNING observed_edge.id, observed_edge.path_hash
), day AS (
    INSERT INTO drift_observedday AS observed_day (edge_id, "day", "count")
    SELECT edge.id, day_count.on_day, day_count.n
    FROM (
        SELECT path_hash, on_day, sum(n) AS n
        FROM (SELECT unnest(day_path_hash) AS path_hash, unnest("day") AS on_day, unnest(day_n) AS n FROM staged)
            AS day_row
        GROUP BY path_hash, on_day
    ) AS day_count
    JOIN edge USING (path_hash)
    ORDER BY edge.id, day_count.on_day
    ON CONFLICT (edge_id, "day") DO UPDATE SET "count" = observed_day."count" + EXCLUDED."count"
)
SELECT (SELECT held FROM fold_lock), (SELECT count(*) FROM staged), (SELECT count(DISTINCT path_hash) FROM path),
       (SELECT count(*) FROM edge)
"""
FOLD_NOW = POSTGRESQL_FOLD.format(lock="pg_try_advisory_xact_lock(%(lock)s)")
FOLD_AFTER_OTHERS = POSTGRESQL_FOLD.format(lock="pg_advisory_xact_lock(%(lock)s) IS NOT NULL")
FOLD_LOCK_KEY = int.from_bytes(b"driftfld", "big", signed=True)

# A batch staged when none waits is folded by its own request at once: at ordinary rates nothing waits at
# all, and a client reading after its answer finds its counts. A batch staged while others wait is left to
# the process's folding thread, which folds once this many wait or the oldest has waited this long. Per
# batch a fold of 128 costs the server ~0.65 ms of CPU, of 64 ~0.95, of 16 ~1.75, of one ~5 (benchmark
# workload); more would save little and make the freshest counts lag further behind.
FOLD_AT_BATCHES = 128
FOLD_AFTER_SECONDS = 1.0

# An advisory lock on a bigint shows in pg_locks as its high and low 32 bits (classid, objid).
POSTGRESQL_RELEASE_KEY = """
SELECT pg_advisory_unlock(%(key)s) FROM pg_locks
WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND objsubid = 1
  AND classid = ((%(key)s >> 32) & 4294967295)::oid AND objid = (%(key)s & 4294967295)::oid
"""

# SQLite's max()/min() with several arguments return NULL if any is NULL, hence the coalesce.
SQLITE_EDGES = """
INSERT INTO drift_observededge
    (path_hash, feature_key, service_identity, signal, destination, environment,
     "count", first_seen, last_seen, max_credential_ttl_seconds)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (path_hash) DO UPDATE SET
    "count" = drift_observededge."count" + excluded."count",
    first_seen = min(drift_observededge.first_seen, excluded.first_seen),
    last_seen = max(drift_observededge.last_seen, excluded.last_seen),
    max_credential_ttl_seconds = max(
        coalesce(drift_observededge.max_credential_ttl_seconds, excluded.max_credential_ttl_seconds),
        coalesce(excluded.max_credential_ttl_seconds, drift_observededge.max_credential_ttl_seconds))
WHERE (drift_observededge.feature_key, drift_observededge.service_identity, drift_observededge.signal,
       drift_observededge.destination, drift_observededge.environment)
    = (excluded.feature_key, excluded.service_identity, excluded.signal, excluded.destination,
       excluded.environment)
"""

SQLITE_DAYS = """
INSERT INTO drift_observedday (edge_id, "day", "count")
VALUES ((SELECT id FROM drift_observededge WHERE path_hash = %s), %s, %s)
ON CONFLICT (edge_id, "day") DO UPDATE SET "count" = drift_observedday."count" + excluded."count"
"""


# PostgreSQL binary arrays, encoded by hand. psycopg dumps a list element by element in Python (~0.25 µs
# each here): a batch's ~4,000 elements took ~1 ms. Here a path's hash and names are encoded once per
# process, and a batch's arrays are joined bytes. The format is array_recv's: number of dimensions,
# has-null flag, element type, length and lower bound, then each element as (length, bytes).
_ARRAY_HEADER = struct.Struct(">iiiii")
_EMPTY_ARRAY = struct.Struct(">iii")
_LENGTH = struct.Struct(">i")
_INT8 = struct.Struct(">iq")
_INT4 = struct.Struct(">ii")
_NULL = _LENGTH.pack(-1)
_PG_EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
_PG_EPOCH_DAY = datetime.date(2000, 1, 1).toordinal()


class PgArray(bytes):
    """A one-dimensional PostgreSQL array in binary form; each subclass names its element type."""

    element_oid: int
    array_oid: int

    @classmethod
    def of(cls, elements: list[bytes], *, has_null: bool = False) -> PgArray:
        if not elements:
            return cls(_EMPTY_ARRAY.pack(0, 0, cls.element_oid))
        return cls(_ARRAY_HEADER.pack(1, has_null, cls.element_oid, len(elements), 1) + b"".join(elements))

    @classmethod
    def of_int8s(cls, values: list[int | None]) -> PgArray:
        """An array of 8-byte integers (bigint, or timestamptz's microseconds), packed in one call."""
        if None in values:
            return cls.of([_NULL if value is None else _INT8.pack(8, value) for value in values], has_null=True)
        if not values:
            return cls.of([])
        lengths_and_values = [8] * (2 * len(values))
        lengths_and_values[1::2] = values
        return cls(
            _ARRAY_HEADER.pack(1, False, cls.element_oid, len(values), 1)
            + _int8_elements(len(values)).pack(*lengths_and_values)
        )


class Int8Array(PgArray):
    element_oid, array_oid = 20, 1016


class TextArray(PgArray):
    element_oid, array_oid = 25, 1009


class DateArray(PgArray):
    element_oid, array_oid = 1082, 1182


class TimestamptzArray(PgArray):
    element_oid, array_oid = 1184, 1185


@lru_cache(maxsize=1)
def _pg_array_dumper() -> type:
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    class PgArrayDumper(Dumper):
        format = Format.BINARY

        def __init__(self, cls: type[PgArray], context=None):
            super().__init__(cls, context)
            self.oid = cls.array_oid

        def dump(self, obj: PgArray) -> bytes:
            return obj

    return PgArrayDumper


@lru_cache(maxsize=65_536)
def _path_elements(path: tuple) -> tuple[bytes, bytes]:
    """A path's hash and its joined names as array elements: encoded once per process."""
    names = "\x1f".join(path).encode()
    return _INT8.pack(8, path_hash(*path)), _LENGTH.pack(len(names)) + names


@lru_cache(maxsize=1024)
def _int8_elements(count: int) -> struct.Struct:
    """`count` array elements of 8-byte integers, each with its length."""
    return struct.Struct(">" + "iq" * count)


_date_elements: dict[datetime.date, bytes] = {}


def _date_element(day: datetime.date) -> bytes:
    element = _date_elements.get(day)
    if element is None:
        if len(_date_elements) > 4096:
            _date_elements.clear()
        element = _date_elements[day] = _INT4.pack(4, day.toordinal() - _PG_EPOCH_DAY)
    return element


def _text(value: str) -> bytes:
    encoded = value.encode()
    return _LENGTH.pack(len(encoded)) + encoded


def _pg_timestamps(moments: list[datetime.datetime]) -> list[int]:
    """Microseconds since PostgreSQL's epoch, timestamptz's binary form (from the timedelta's fields: faster
    than dividing it)."""
    epoch = _PG_EPOCH
    return [
        ((since := moment - epoch).days * 86_400 + since.seconds) * 1_000_000 + since.microseconds for moment in moments
    ]


def _staged_arrays(write: BatchWrite) -> list:
    """The batch as the arrays of one drift_stagedbatch row: per path, then per path and day."""
    paths = [_path_elements(path) for path in write.edges]  # (hash, names) elements, encoded once per process
    edges = list(write.edges.values())  # [count, first seen, last seen, max ttl, {day: count}]
    per_day = [
        (hash_element, day, count)
        for (hash_element, _), edge in zip(paths, edges, strict=True)
        for day, count in edge[4].items()
    ]
    return [
        TextArray.of([_text(key) for key in write.feature_keys]),
        Int8Array.of([hash_element for hash_element, _ in paths]),
        TextArray.of([names for _, names in paths]),
        Int8Array.of_int8s([edge[0] for edge in edges]),
        TimestamptzArray.of_int8s(_pg_timestamps([edge[1] for edge in edges])),
        TimestamptzArray.of_int8s(_pg_timestamps([edge[2] for edge in edges])),
        Int8Array.of_int8s([edge[3] for edge in edges]),
        Int8Array.of([hash_element for hash_element, _, _ in per_day]),
        DateArray.of([_date_element(day) for _, day, _ in per_day]),
        Int8Array.of_int8s([count for _, _, count in per_day]),
    ]


_knows_arrays: weakref.WeakSet = weakref.WeakSet()  # psycopg connections our array dumper is registered on


@contextlib.contextmanager
def _postgresql_cursor() -> Iterator:
    """A psycopg cursor on Django's connection that binds server-side, with our binary arrays, and can
    run prepared statements (`execute(…, prepare=True)`).

    Django's cursors bind client-side, spelling every array element into the SQL text: that took a third
    of the time. Django also turns psycopg's prepared statements off (prepare_threshold None), and the
    staging and folding statements spent more of the server's time being parsed and planned than run;
    so they are prepared by name, once per connection. Prepared statements are switched on only while
    this cursor is open (a threshold that never triggers by itself): the rest of the process's queries
    on the connection stay unprepared and uncounted, as Django has them.
    """
    import psycopg

    connection.ensure_connection()
    raw = connection.connection
    if raw not in _knows_arrays:
        raw.adapters.register_dumper(PgArray, _pg_array_dumper())
        _knows_arrays.add(raw)
    threshold = raw.prepare_threshold
    if threshold is None:
        raw.prepare_threshold = 2**31
    try:
        with psycopg.Cursor(raw) as cursor:
            yield cursor
    finally:
        raw.prepare_threshold = threshold


@dataclass(frozen=True)
class Staged:
    staged: bool  # the batch's row was written
    others: int  # other batches staged, whether or not a running fold is taking them
    unclaimed: int  # other batches staged that no running fold is taking
    unclaimed_seconds: float  # how long the oldest of those has waited


def _stage_postgresql(write: BatchWrite) -> Staged | IngestBatch:
    """Store the record and the staged batch, or return the batch already recorded under the key (see
    POSTGRESQL_STAGE); raises KeyInProgress or KeyRecordedMeanwhile when nothing was written."""
    record = write.record
    records = [record] if record else []
    parameters = [
        Int8Array.of([_INT8.pack(8, record.lock_key) for record in records]),
        record.token_id if record else None,
        record.idempotency_key if record else None,
        Int8Array.of([_INT8.pack(8, record.token_id) for record in records]),
        TextArray.of([_text(record.idempotency_key) for record in records]),
        TextArray.of([_text(record.body_sha256) for record in records]),
        Int8Array.of([_INT8.pack(8, record.status_code) for record in records]),
        TextArray.of([_text(orjson.dumps(record.response).decode()) for record in records]),
        len(records),
        *_staged_arrays(write),
        bool(write.edges),
    ]
    with connection.wrap_database_errors, _postgresql_cursor() as cursor:
        cursor.execute(POSTGRESQL_STAGE, parameters, prepare=True)
        (claimed, body_sha256, status_code, response, recorded, staged, others, unclaimed, unclaimed_seconds, _) = (
            cursor.fetchone()
        )
    if not claimed:
        raise KeyInProgress
    if body_sha256 is not None:
        return IngestBatch(body_sha256=body_sha256, status_code=status_code, response=orjson.loads(response))
    if recorded != len(records):
        raise KeyRecordedMeanwhile
    return Staged(bool(staged), others, unclaimed, unclaimed_seconds)


def fold_staged_observations(*, wait: bool = False) -> Fold | None:
    """Add the staged batches to the observed edges and daily counts, and mark their features for drift
    evaluation (PostgreSQL). None when another fold is running (unless `wait`: then after it)."""
    if connection.vendor != "postgresql":
        return Fold(0, 0, 0)  # SQLite writes edges and days directly: nothing is ever staged
    with (
        transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext(),
        connection.wrap_database_errors,
        _postgresql_cursor() as cursor,
    ):
        cursor.execute(FOLD_AFTER_OTHERS if wait else FOLD_NOW, {"lock": FOLD_LOCK_KEY}, prepare=True)
        held, batches, paths, edges = cursor.fetchone()
    if not held:
        return None
    fold = Fold(batches, edges, paths - edges)
    if fold.collisions:
        logger.error(
            "%d observed path(s) share a 64-bit path hash with another path; their counts were left out.",
            fold.collisions,
        )
    if batches:
        transaction.on_commit(scheduling.schedule_pending_evaluation)
    return fold


class _Folder:
    """This process's folding thread: it folds when a request asks it to (enough batches wait), or when
    the batches this process left waiting have waited FOLD_AFTER_SECONDS, so that the last ones before a
    quiet spell are folded too. It waits on PostgreSQL, not on the GIL: the process serves requests
    meanwhile. Should the process die first, its batches wait for the next fold, in whichever process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._due: float | None = None  # when to fold next (time.monotonic()), if anything is owed
        self._thread: threading.Thread | None = None

    def forget(self) -> None:
        """Start afresh (in a forked child: the parent's thread is not there, its lock may look held)."""
        self.__init__()

    def fold(self, *, now: bool) -> None:
        """Fold now (in this thread's stead) or within FOLD_AFTER_SECONDS, whichever is sooner."""
        due = time.monotonic() + (0.0 if now else FOLD_AFTER_SECONDS)
        with self._lock:
            if self._due is None or due < self._due:
                self._due = due
                self._wake.set()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="drift-fold", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                wait = None if self._due is None else self._due - time.monotonic()
                if wait is not None and wait <= 0:
                    self._due = None
            if wait is None or wait > 0:
                self._wake.wait(wait)
                self._wake.clear()
                continue
            try:
                if fold_staged_observations() is None:
                    self.fold(now=False)  # another process is folding, and may have begun before ours came
            except Exception:
                logger.exception("Folding staged observations failed; retrying in %s s.", FOLD_AFTER_SECONDS)
                connection.close()
                self.fold(now=False)
            with self._lock:
                idle = self._due is None
            if idle:
                connection.close()  # this thread's own connection: held only while folds keep coming


_folder = _Folder()
os.register_at_fork(after_in_child=_folder.forget)


def _release_key(record: BatchRecord) -> None:
    """Let the key's lock go if this session still holds it (a failed write may or may not have)."""
    with connection.cursor() as cursor:
        cursor.execute(POSTGRESQL_RELEASE_KEY, {"key": record.lock_key})


def _write_postgresql(write: BatchWrite) -> IngestBatch | None:
    """Stage the batch, then fold it now or leave it to a fold soon; or return the batch already recorded
    under its key (then nothing is written).

    The staging statement is its own transaction (autocommit) and touches no row another batch touches, so
    concurrent batches never wait for each other; the fold, which does, runs one at a time.
    """
    try:
        # Inside a caller's transaction (tests), a savepoint keeps a failed statement from leaving that
        # transaction unable to release the key.
        with transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext():
            staged = _stage_postgresql(write)  # releases the key's lock, when it gets that far
    except BaseException:
        if write.record is not None:
            with contextlib.suppress(DatabaseError):  # a session that is gone holds no lock either
                _release_key(write.record)
        raise
    if isinstance(staged, IngestBatch):
        return staged
    if not staged.staged:
        return None
    if staged.others == 0 and fold_staged_observations() is not None:
        return None  # no other batch was there: folded at once, so the answer finds its counts in place
    # Others are there (waiting, or being folded by a fold that began before this batch was staged): the
    # process's folding thread takes the waiting ones together, now if enough have gathered, else shortly.
    now = staged.unclaimed + 1 >= FOLD_AT_BATCHES or staged.unclaimed_seconds >= FOLD_AFTER_SECONDS
    _folder.fold(now=now)
    return None


@transaction.atomic
def _write_sqlite(write: BatchWrite) -> IngestBatch | None:
    """Record the batch and write its edges and days directly, with the ORM's connection (SQLite
    serialises writers by itself: there is nothing to coalesce and no lock is needed)."""
    if (record := write.record) is not None:
        earlier = IngestBatch.objects.filter(token_id=record.token_id, idempotency_key=record.idempotency_key).first()
        if earlier is not None:
            return earlier
        try:
            IngestBatch.objects.create(
                token_id=record.token_id,
                idempotency_key=record.idempotency_key,
                body_sha256=record.body_sha256,
                status_code=record.status_code,
                response=record.response,
            )
        except IntegrityError as error:
            raise KeyRecordedMeanwhile from error
    if write.edges:
        _upsert_sqlite(write)
        scheduling.request_drift_evaluation(write.feature_keys)
    return None


def _upsert_sqlite(write: BatchWrite) -> None:
    """Write the edges and days (the records and drift marks go by the ORM)."""
    # Stored as Django stores them (naive UTC text), so min()/max() compare like for like.
    moment, date = connection.ops.adapt_datetimefield_value, connection.ops.adapt_datefield_value
    edge_rows, day_rows = [], []
    for path in sorted(write.edges, key=lambda path: path_hash(*path)):
        count, first, last, ttl, days = write.edges[path]
        key = path_hash(*path)
        edge_rows.append((key, *path, count, moment(first), moment(last), ttl))
        day_rows.extend((key, date(day), day_count) for day, day_count in sorted(days.items()))
    with connection.cursor() as cursor:
        cursor.executemany(SQLITE_EDGES, edge_rows)
        if cursor.rowcount != len(edge_rows):
            raise PathHashCollision(f"{len(edge_rows) - cursor.rowcount} path(s) share a path hash.")
        cursor.executemany(SQLITE_DAYS, day_rows)


def _earlier_answer(earlier: IngestBatch, body_sha256: str) -> IngestOutcome:
    """The stored answer to a retried batch, or a refusal when the key came with another body."""
    if earlier.body_sha256 != body_sha256:
        return IngestOutcome(
            422,
            {
                "error": Refusal.KEY_REUSED,
                "detail": "This Idempotency-Key was used for a different batch; use a new key.",
            },
        )
    return IngestOutcome(earlier.status_code, earlier.response)


def _in_progress() -> IngestOutcome:
    return IngestOutcome(
        409,
        {
            "error": Refusal.IN_PROGRESS,
            "detail": "A batch with this Idempotency-Key is being ingested; retry to get its answer.",
        },
    )


def _refuse_end_user_data(end_user: list[tuple[int, str]]) -> IngestOutcome:
    shown = "; ".join(f"item {index}: {found}" for index, found in end_user[:5])
    more = f" (and {len(end_user) - 5} more)" if len(end_user) > 5 else ""
    return IngestOutcome(
        422,
        {
            "error": Refusal.END_USER_DATA,
            "detail": (
                "Observations must not carry end-user data (user ids, emails, IP addresses, session or "
                f"device ids). Nothing was stored. Found {shown}{more}. Remove it at the source and resend."
            ),
            "items": [index for index, _found in end_user],
        },
    )


def ingest_observations(
    items: list, *, token: ApiToken, idempotency_key: str | None, body_sha256: str
) -> IngestOutcome:
    """Fold a batch of observations into edges and daily counts; answer with how many were accepted."""
    limit = settings.GOVERNANCE["OBSERVATIONS_MAX_ITEMS"]
    if len(items) > limit:
        detail = f"A batch holds at most {limit} observations; this one has {len(items)}. Send smaller batches."
        return IngestOutcome(413, {"error": Refusal.TOO_LARGE, "detail": detail})

    team_ids = token_team_ids(token)
    folded = _validate_and_fold(items, timezone.now(), track_features=team_ids is not None)
    if folded.end_user:
        return _refuse_end_user_data(folded.end_user)
    _drop_foreign_features(team_ids, folded)
    body = {
        "accepted": folded.accepted,
        "rejected": [{"index": index, "reason": reason} for index, reason in folded.rejected],
    }
    record = BatchRecord(token.pk, idempotency_key, body_sha256, 200, body) if idempotency_key else None
    if not folded.edges and record is None:
        return IngestOutcome(200, body)

    write = BatchWrite(folded.edges, record)
    try:
        earlier = (_write_postgresql if connection.vendor == "postgresql" else _write_sqlite)(write)
    except KeyInProgress:
        return _in_progress()
    except KeyRecordedMeanwhile:  # answer as the retry it is, or "in progress" until that request commits
        earlier = IngestBatch.objects.filter(token=token, idempotency_key=idempotency_key).first()
        if earlier is None:
            return _in_progress()
    if earlier is not None:
        return _earlier_answer(earlier, body_sha256)
    return IngestOutcome(200, body)
