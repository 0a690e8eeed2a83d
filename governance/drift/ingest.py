"""Ingesting observations: the hot path, and the one place that steps outside the ORM.

Where it stands (`manage.py benchmark_ingest`, PostgreSQL 15, 2 cores shared with other jobs; 200,000
Zipf-skewed events over 3,000 edges in 1,000-event batches, ~430 paths and ~510 edge-days a batch;
gunicorn 2 sync workers, 4 clients): 55,000–86,000 events/s against 227,000–380,000 for the COPY-only
reference, 0.23–0.28× (before this rework 0.19×; the issue's target, 0.5×, is not met). Per batch the
real endpoint burns 17–20 ms of CPU (gunicorn worker 10–12, PostgreSQL 7), the reference ~4.7; before,
25–28 ms (15–16 + 9–11). Of those ~19 ms: ~6 are PostgreSQL's ~930 row upserts (~6 µs each, spread
across the executor: no one hot spot), ~2.5 validation, ~1.5 the write's Python side, and ~5 lie outside
this module (the token look-up ~1.8, orjson ~0.7, Django, gunicorn, the drift-scheduling flag in Redis).

Telemetry shippers send batches of thousands of events a second. On our 2-core machines a DRF
serializer validates ~44,000 events/s and `bulk_create` writes ~42,000 rows/s, while a bare endpoint
(orjson + one COPY) manages ~290,000 events/s. So this module:

- validates with a hand-written validator in one pass (precompiled patterns; per event one tuple, the
  path, and a few dictionary look-ups: verdicts are cached per distinct path and per distinct timestamp,
  since telemetry repeats itself);
- folds the batch in Python as it goes (one row per edge and per edge-day), so 1,000 events become a
  few hundred upserts;
- on PostgreSQL writes a batch in one statement, in autocommit: the idempotency record, the drift
  marks, `INSERT … SELECT FROM unnest(…) ON CONFLICT DO UPDATE` for the edges, keyed by a 64-bit path
  hash (`ObservedEdge.path_hash`), and the same for the days (data-modifying CTEs, binary array
  parameters encoded by hand). The statement is its own transaction, so the hot edges' row locks go
  when it ends, not when the thread next gets the GIL to send COMMIT; an Idempotency-Key is held by a
  session-level advisory lock from its look-up until that statement. On SQLite (the embedded default),
  `executemany` of the same upserts inside a transaction. Edges go in sorted by key, so concurrent
  batches lock shared edges in one order and cannot deadlock.

Raw events are never stored. An `Idempotency-Key` stores the batch's answer (`IngestBatch`) in the same
transaction as the counts, so a retry gets the same answer and counts once.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import ipaddress
import re
import struct
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from operator import itemgetter
from typing import Any

import orjson
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from features.models import Feature
from governance.accounts.models import ApiToken
from governance.accounts.tokens import token_team_ids
from governance.drift import scheduling
from governance.drift.models import IngestBatch, path_hash

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


def _observed_at(value: Any, now: datetime.datetime) -> tuple[datetime.datetime, datetime.date] | str:
    """(the moment in UTC, its UTC day), or why the value is not a usable observed_at."""
    if value is None:
        return "observed_at is missing"
    # RFC 3339's shape, checked by position (a regex costs twice the parse): date, T, time, then Z or ±hh:mm.
    if (
        type(value) is not str
        or len(value) < 20
        or value[4] != "-"
        or value[7] != "-"
        or value[10] not in "Tt "
        or value[13] != ":"
        or value[16] != ":"
        or value[19] not in ".Zz+-"
        or (value[-1] not in "Zz" and (value[-6] not in "+-" or value[-3] != ":"))
    ):
        return "observed_at must be an RFC 3339 date-time with a time zone, e.g. 2026-01-31T12:00:00Z"
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        try:
            moment = datetime.datetime.fromisoformat(value.upper())  # RFC 3339 allows a lower-case t and z
        except ValueError:
            return "observed_at is not a real date-time"
    if moment.tzinfo is not datetime.UTC:
        moment = moment.astimezone(datetime.UTC)
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


def _validate_and_fold(items: list, now: datetime.datetime, *, track_features: bool) -> Folded:
    """Check every item and fold the valid ones into their edges, in one pass.

    The common item (the six required fields, well-formed) costs a few dictionary look-ups: verdicts are
    cached per distinct path and per distinct timestamp, since telemetry repeats itself. Anything else
    takes the slow, exact route (`_item_problem`, then a search for end-user data).
    """
    edges: dict[tuple, list] = {}
    rejected: list[tuple[int, str]] = []
    end_user: list[tuple[int, str]] = []
    by_feature: dict[str, list[int]] | None = {} if track_features else None
    paths: dict[tuple, str | None] = {}
    stamps: dict[str, Any] = {}
    paths_get, stamps_get, edges_get = paths.get, stamps.get, edges.get
    accepted = 0

    for index, item in enumerate(items):
        try:
            path = _pick_path(item)
            stamp = item["observed_at"]
            verdict = paths_get(path, _UNSEEN)
            when = stamps_get(stamp, _UNSEEN)
        except (KeyError, TypeError):  # a field missing, not an object, or a list where a string belongs
            verdict = when = None
            ok = False
        else:
            if verdict is _UNSEEN:
                verdict = paths[path] = _path_verdict(path)
            if when is _UNSEEN:
                when = stamps[stamp] = _observed_at(stamp, now)
            ok = verdict is None and type(when) is tuple
            if ok and len(item) == 6:  # the six required fields and nothing else
                count, ttl = 1, None
            elif ok:
                count, ttl = item.get("count", 1), item.get("credential_ttl_seconds")
                ok = (
                    item.keys() <= ALLOWED_FIELDS
                    and (count is None or (type(count) is int and 1 <= count <= COUNT_MAX))
                    and (ttl is None or (type(ttl) is int and 0 <= ttl <= TTL_MAX))
                )
                count = 1 if count is None else count
        if not ok:
            # Any rejected item is searched for end-user data first: one such item refuses the whole batch.
            found = end_user_finding(item)
            if found:
                end_user.append((index, found))
            else:
                rejected.append((index, _item_problem(item, now)))
            continue

        moment, day = when
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
        accepted += 1
        if by_feature is not None:
            by_feature.setdefault(path[0], []).append(index)
    return Folded(edges, accepted, rejected, end_user, by_feature)


def _drop_foreign_features(token: ApiToken, folded: Folded) -> None:
    """Reject the items of registered features outside the token's teams (unregistered keys are shadow
    features: welcome)."""
    team_ids = token_team_ids(token)
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


# One statement, one round trip, in the order the rows are locked: the idempotency records; the features
# marked for drift evaluation (before any edge is locked: a mark may wait for an evaluation that holds
# its key, and must not hold up other batches meanwhile); the edges, by path hash, in hash order (so
# concurrent writes lock shared edges in one order and cannot deadlock); then the days, joined to the
# edges' ids by path hash. A day row is only written by a statement that holds its edge's row lock.
# Each "(SELECT count(*) FROM …)" makes a step wait for the one before; unless every record was written
# (none had been recorded meanwhile), nothing else is. An edge whose stored names differ from ours (a hash
# collision) is not updated, and the counts returned tell. Last, it releases the keys' locks: a request
# that takes one before this commits finds the record once its own write has waited for ours.
POSTGRESQL_WRITE = """
WITH batch AS (
    INSERT INTO drift_ingestbatch (token_id, idempotency_key, body_sha256, status_code, response, received_at)
    SELECT token_id, idempotency_key, body_sha256, status_code, response::jsonb, now()
    FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::bigint[], %b::text[])
        AS record (token_id, idempotency_key, body_sha256, status_code, response)
    ON CONFLICT (token_id, idempotency_key) DO NOTHING
    RETURNING 1
), recorded AS (
    SELECT count(*) = %b::bigint AS every_record FROM batch
), pending AS (
    INSERT INTO drift_driftpending (feature_key, since)
    SELECT feature_key, now() FROM unnest(%b::text[]) AS feature_key
    WHERE (SELECT every_record FROM recorded)
    ORDER BY feature_key
    ON CONFLICT (feature_key) DO NOTHING
    RETURNING 1
), edge AS (
    INSERT INTO drift_observededge AS observed_edge
        (path_hash, feature_key, service_identity, signal, destination, environment,
         "count", first_seen, last_seen, max_credential_ttl_seconds)
    SELECT * FROM unnest(
        %b::bigint[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[],
        %b::bigint[], %b::timestamptz[], %b::timestamptz[], %b::bigint[]
    ) AS source (path_hash, feature_key, service_identity, signal, destination, environment,
                 n, first_seen, last_seen, max_credential_ttl_seconds)
    WHERE (SELECT every_record FROM recorded) AND (SELECT count(*) FROM pending) >= 0
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
    FROM unnest(%b::bigint[], %b::date[], %b::bigint[]) AS day_count (path_hash, on_day, n)
    JOIN edge USING (path_hash)
    ORDER BY edge.id, day_count.on_day
    ON CONFLICT (edge_id, "day") DO UPDATE SET "count" = observed_day."count" + EXCLUDED."count"
)
SELECT (SELECT count(*) FROM batch), (SELECT count(*) FROM edge),
       (SELECT pg_advisory_unlock(lock_key) FROM unnest(%b::bigint[]) AS lock_key)
"""

# Take the key's lock and read its stored answer, in one round trip. The lock lets a concurrent request
# with the same key answer "in progress" at once. It is session-level, so that no transaction stays open
# between this and the write statement, which releases it (or `_release_key`, if that never runs). A key
# recorded between this read and our write is caught by the write.
POSTGRESQL_CLAIM_KEY = """
SELECT pg_try_advisory_lock(%s), earlier.body_sha256, earlier.status_code, earlier.response::text
FROM (SELECT) AS one
LEFT JOIN drift_ingestbatch AS earlier ON earlier.token_id = %s AND earlier.idempotency_key = %s
"""

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
# each here): a batch's ~6,000 elements took ~1.4 ms. Here a path's six array elements are encoded once
# per process, and a batch's arrays are joined bytes: the write's Python side went from ~2.2 to ~1.5 ms.
# The format is array_recv's: number of dimensions, has-null flag, element type, length and lower bound,
# then each element as (length, bytes).
_ARRAY_HEADER = struct.Struct(">iiiii")
_EMPTY_ARRAY = struct.Struct(">iii")
_LENGTH = struct.Struct(">i")
_INT8 = struct.Struct(">iq")
_INT4 = struct.Struct(">ii")
_NULL = _LENGTH.pack(-1)
_PG_EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
_PG_EPOCH_DAY = datetime.date(2000, 1, 1).toordinal()
_MICROSECOND = datetime.timedelta(microseconds=1)


class PgArray(bytes):
    """A one-dimensional PostgreSQL array in binary form; each subclass names its element type."""

    element_oid: int
    array_oid: int

    @classmethod
    def of(cls, elements: list[bytes], *, has_null: bool = False) -> PgArray:
        if not elements:
            return cls(_EMPTY_ARRAY.pack(0, 0, cls.element_oid))
        return cls(_ARRAY_HEADER.pack(1, has_null, cls.element_oid, len(elements), 1) + b"".join(elements))


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
def _path_elements(path: tuple) -> tuple[int, bytes, bytes, bytes, bytes, bytes, bytes]:
    """A path's hash, then its hash and five names as array elements: encoded once per process."""
    key = path_hash(*path)
    names = [name.encode() for name in path]
    return key, _INT8.pack(8, key), *(_LENGTH.pack(len(name)) + name for name in names)


@lru_cache(maxsize=1024)
def _date_element(day: datetime.date) -> bytes:
    return _INT4.pack(4, day.toordinal() - _PG_EPOCH_DAY)


def _text(value: str) -> bytes:
    encoded = value.encode()
    return _LENGTH.pack(len(encoded)) + encoded


# The arrays of a path's elements, after its hash: the hash, then the five names.
_PATH_ARRAYS = (Int8Array, TextArray, TextArray, TextArray, TextArray, TextArray)


def _upsert_postgresql(write: BatchWrite) -> None:
    """Write records, drift marks, edges and days in one statement (see POSTGRESQL_WRITE)."""
    import psycopg

    rows = sorted(zip(map(_path_elements, write.edges), write.edges.values(), strict=True), key=itemgetter(0))
    elements = [row[0] for row in rows]
    edges = [row[1] for row in rows]
    days = [
        (element[1], day, count)
        for element, edge in zip(elements, edges, strict=True)
        for day, count in edge[4].items()
    ]
    ttls = [_NULL if edge[3] is None else _INT8.pack(8, edge[3]) for edge in edges]
    records = [write.record] if write.record else []
    parameters = [
        Int8Array.of([_INT8.pack(8, record.token_id) for record in records]),
        TextArray.of([_text(record.idempotency_key) for record in records]),
        TextArray.of([_text(record.body_sha256) for record in records]),
        Int8Array.of([_INT8.pack(8, record.status_code) for record in records]),
        TextArray.of([_text(orjson.dumps(record.response).decode()) for record in records]),
        len(records),
        TextArray.of([_text(key) for key in write.feature_keys]),
        *(cls.of(list(map(itemgetter(column), elements))) for column, cls in enumerate(_PATH_ARRAYS, start=1)),
        Int8Array.of([_INT8.pack(8, edge[0]) for edge in edges]),
        TimestamptzArray.of([_INT8.pack(8, (edge[1] - _PG_EPOCH) // _MICROSECOND) for edge in edges]),
        TimestamptzArray.of([_INT8.pack(8, (edge[2] - _PG_EPOCH) // _MICROSECOND) for edge in edges]),
        Int8Array.of(ttls, has_null=_NULL in ttls),
        Int8Array.of([day[0] for day in days]),
        DateArray.of([_date_element(day[1]) for day in days]),
        Int8Array.of([_INT8.pack(8, day[2]) for day in days]),
        Int8Array.of([_INT8.pack(8, record.lock_key) for record in records]),
    ]
    # Server-side binding with binary parameters (%b): each array goes as one value. Django's cursors bind
    # client-side, spelling every element into the SQL text: that took a third of the time.
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.adapters.register_dumper(PgArray, _pg_array_dumper())
        cursor.execute(POSTGRESQL_WRITE, parameters)
        recorded, written, _released = cursor.fetchone()
    if recorded != len(records):
        raise KeyRecordedMeanwhile
    if written != len(rows):
        raise PathHashCollision(f"{len(rows) - written} path(s) share a path hash with another path.")


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


def _claim_key(record: BatchRecord) -> IngestBatch | None:
    """Take the key's lock (or raise KeyInProgress) and return the batch already recorded under it."""
    with connection.cursor() as cursor:
        cursor.execute(POSTGRESQL_CLAIM_KEY, [record.lock_key, record.token_id, record.idempotency_key])
        claimed, body_sha256, status_code, response = cursor.fetchone()
    if not claimed:
        raise KeyInProgress
    if body_sha256 is None:
        return None
    return IngestBatch(body_sha256=body_sha256, status_code=status_code, response=orjson.loads(response))


def _release_key(record: BatchRecord) -> None:
    """Let the key's lock go if this session still holds it (a failed write may or may not have)."""
    with connection.cursor() as cursor:
        cursor.execute(POSTGRESQL_RELEASE_KEY, {"key": record.lock_key})


def _write_postgresql(write: BatchWrite) -> IngestBatch | None:
    """Write the batch, or return the batch already recorded under its key (then nothing is written).

    The write is one statement and, in autocommit, its own transaction: the edge rows it locks are let go
    as it ends, not when this thread next gets the GIL to send COMMIT. (Under load that took longer than
    the statement itself, and every other batch touching a hot edge waited for it.)
    """
    record = write.record
    if record is not None and (earlier := _claim_key(record)) is not None:
        _release_key(record)
        return earlier
    try:
        # Inside a caller's transaction (tests), a savepoint keeps a failed statement from leaving that
        # transaction unable to release the key.
        with transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext():
            _upsert_postgresql(write)  # releases the key's lock, when it gets that far
    except BaseException:
        if record is not None:
            with contextlib.suppress(DatabaseError):  # a session that is gone holds no lock either
                _release_key(record)
        raise
    if write.edges:
        transaction.on_commit(scheduling.schedule_pending_evaluation)
    return None


@transaction.atomic
def _write_sqlite(write: BatchWrite) -> IngestBatch | None:
    """As `_write_postgresql`, with the ORM (SQLite serialises writers by itself: no lock is needed)."""
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

    folded = _validate_and_fold(items, timezone.now(), track_features=token_team_ids(token) is not None)
    if folded.end_user:
        return _refuse_end_user_data(folded.end_user)
    _drop_foreign_features(token, folded)
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
