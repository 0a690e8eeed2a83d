"""Ingesting observations: the hot path, and the one place that steps outside the ORM.

Telemetry shippers send batches of thousands of events a second. On our 2-core machines a DRF
serializer validates ~44,000 events/s and `bulk_create` writes ~42,000 rows/s, while a bare endpoint
(orjson + one COPY) manages ~290,000 events/s. So this module:

- validates with a hand-written validator in one pass (precompiled patterns; per event one tuple, the
  path, and a few dictionary look-ups: verdicts are cached per distinct path and per distinct timestamp,
  since telemetry repeats itself);
- folds the batch in Python as it goes (one row per edge and per edge-day), so 1,000 events become a
  few hundred upserts;
- writes set-based SQL: on PostgreSQL one statement, `INSERT … SELECT FROM unnest(…) ON CONFLICT DO
  UPDATE` for the edges chained (a data-modifying CTE) to the same for the days, with binary array
  parameters; on SQLite (the embedded default) `executemany` of the same upserts. Rows go in sorted by
  key, so concurrent batches lock shared edges in one order and cannot deadlock.

Measured in-process on PostgreSQL (2 cores, 1,000-event batches): ~125,000 events/s when a batch folds
into ~180 paths, ~90,000 at ~300 paths, ~25,000 when nearly every event is a new path; parse and
validation alone run at ~400,000 events/s, so the upserts are the cost.

Raw events are never stored. An `Idempotency-Key` stores the batch's answer (`IngestBatch`) in the same
transaction as the counts, so a retry gets the same answer and counts once.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from operator import itemgetter
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from features.models import Feature
from governance.accounts.models import ApiToken
from governance.accounts.tokens import token_team_ids
from governance.drift.models import IngestBatch
from governance.drift.scheduling import request_drift_evaluation

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


# One statement, one round trip: upsert the edges (in key order, so concurrent batches lock shared edges
# in one order and cannot deadlock), then the days, joined to the edges' ids by their position in the
# input. A day row is only written by a batch that holds its edge's row lock, so days cannot deadlock.
POSTGRESQL_UPSERT = """
WITH source AS (
    SELECT * FROM unnest(
        %b::text[], %b::text[], %b::text[], %b::text[], %b::text[],
        %b::bigint[], %b::timestamptz[], %b::timestamptz[], %b::bigint[]
    ) WITH ORDINALITY AS source (
        feature_key, service_identity, signal, destination, environment,
        n, first_seen, last_seen, max_credential_ttl_seconds, position)
), edge AS (
    INSERT INTO drift_observededge AS observed_edge
        (feature_key, service_identity, signal, destination, environment,
         "count", first_seen, last_seen, max_credential_ttl_seconds)
    SELECT feature_key, service_identity, signal, destination, environment,
           n, first_seen, last_seen, max_credential_ttl_seconds
    FROM source ORDER BY position
    ON CONFLICT (feature_key, service_identity, signal, destination, environment) DO UPDATE SET
        "count" = observed_edge."count" + EXCLUDED."count",
        first_seen = LEAST(observed_edge.first_seen, EXCLUDED.first_seen),
        last_seen = GREATEST(observed_edge.last_seen, EXCLUDED.last_seen),
        max_credential_ttl_seconds = GREATEST(
            observed_edge.max_credential_ttl_seconds, EXCLUDED.max_credential_ttl_seconds)
    RETURNING observed_edge.id, observed_edge.feature_key, observed_edge.service_identity,
              observed_edge.signal, observed_edge.destination, observed_edge.environment
)
INSERT INTO drift_observedday AS observed_day (edge_id, "day", "count")
SELECT edge.id, day_count.on_day, day_count.n
FROM unnest(%b::bigint[], %b::date[], %b::bigint[]) AS day_count (position, on_day, n)
JOIN source USING (position)
JOIN edge USING (feature_key, service_identity, signal, destination, environment)
ORDER BY edge.id, day_count.on_day
ON CONFLICT (edge_id, "day") DO UPDATE SET "count" = observed_day."count" + EXCLUDED."count"
"""

# SQLite's max()/min() with several arguments return NULL if any is NULL, hence the coalesce.
SQLITE_EDGES = """
INSERT INTO drift_observededge
    (feature_key, service_identity, signal, destination, environment,
     "count", first_seen, last_seen, max_credential_ttl_seconds)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (feature_key, service_identity, signal, destination, environment) DO UPDATE SET
    "count" = drift_observededge."count" + excluded."count",
    first_seen = min(drift_observededge.first_seen, excluded.first_seen),
    last_seen = max(drift_observededge.last_seen, excluded.last_seen),
    max_credential_ttl_seconds = max(
        coalesce(drift_observededge.max_credential_ttl_seconds, excluded.max_credential_ttl_seconds),
        coalesce(excluded.max_credential_ttl_seconds, drift_observededge.max_credential_ttl_seconds))
"""

SQLITE_DAYS = """
INSERT INTO drift_observedday (edge_id, "day", "count")
VALUES ((SELECT id FROM drift_observededge
         WHERE feature_key = %s AND service_identity = %s AND signal = %s AND destination = %s
           AND environment = %s), %s, %s)
ON CONFLICT (edge_id, "day") DO UPDATE SET "count" = drift_observedday."count" + excluded."count"
"""


def _upsert_postgresql(edges: dict[tuple, list]) -> None:
    import psycopg

    columns: list[list] = [[], [], [], [], [], [], [], [], []]
    day_positions: list[int] = []
    day_dates: list[datetime.date] = []
    day_counts: list[int] = []
    for position, path in enumerate(sorted(edges), start=1):
        edge = edges[path]
        for column, value in zip(columns, (*path, *edge[:4]), strict=True):
            column.append(value)
        for day, count in edge[4].items():
            day_positions.append(position)
            day_dates.append(day)
            day_counts.append(count)
    # Server-side binding with binary parameters (%b): psycopg sends each list as one array. Django's
    # cursors bind client-side, spelling every element into the SQL text: that took a third of the time.
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(POSTGRESQL_UPSERT, [*columns, day_positions, day_dates, day_counts])


def _upsert_sqlite(edges: dict[tuple, list]) -> None:
    # Stored as Django stores them (naive UTC text), so min()/max() compare like for like.
    moment, date = connection.ops.adapt_datetimefield_value, connection.ops.adapt_datefield_value
    edge_rows, day_rows = [], []
    for path in sorted(edges):
        count, first, last, ttl, days = edges[path]
        edge_rows.append((*path, count, moment(first), moment(last), ttl))
        day_rows.extend((*path, date(day), day_count) for day, day_count in sorted(days.items()))
    with connection.cursor() as cursor:
        cursor.executemany(SQLITE_EDGES, edge_rows)
        cursor.executemany(SQLITE_DAYS, day_rows)


def _try_lock_key(token: ApiToken, idempotency_key: str) -> bool:
    """Take the key's transaction-scoped lock on PostgreSQL, or say that another request holds it.

    A second INSERT of the same unique key would wait for the first transaction and then fail; the lock
    lets the second request answer "in progress" at once. SQLite serialises writers by itself.
    """
    if connection.vendor != "postgresql":
        return True
    digest = hashlib.sha256(f"drift.ingest:{token.pk}:{idempotency_key}".encode()).digest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [int.from_bytes(digest[:8], "big", signed=True)])
        return cursor.fetchone()[0]


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
    edges = folded.edges

    recording_key = False
    try:
        with transaction.atomic():
            if idempotency_key:
                if not _try_lock_key(token, idempotency_key):
                    return _in_progress()
                earlier = IngestBatch.objects.filter(token=token, idempotency_key=idempotency_key).first()
                if earlier is not None:
                    if earlier.body_sha256 != body_sha256:
                        return IngestOutcome(
                            422,
                            {
                                "error": Refusal.KEY_REUSED,
                                "detail": "This Idempotency-Key was used for a different batch; use a new key.",
                            },
                        )
                    return IngestOutcome(earlier.status_code, earlier.response)
                recording_key = True
                IngestBatch.objects.create(
                    token=token,
                    idempotency_key=idempotency_key,
                    body_sha256=body_sha256,
                    status_code=200,
                    response=body,
                )
                recording_key = False
            if edges:
                (_upsert_postgresql if connection.vendor == "postgresql" else _upsert_sqlite)(edges)
                request_drift_evaluation({path[0] for path in edges})
    except IntegrityError:
        if recording_key:  # another request recorded this key between our check and our insert
            return _in_progress()
        raise
    return IngestOutcome(200, body)
