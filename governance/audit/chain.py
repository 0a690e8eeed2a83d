"""Appending to the audit chain and verifying it.

Each event's hash is the SHA-256 of the canonical JSON of its contents and of the previous event's hash,
so changing, removing or reordering any stored event breaks every link from there on; removing the
last events leaves a shorter chain that still links up, which a `Checkpoint` kept outside the database
shows (an evidence pack's manifest records the head). Appends are serialised (an advisory lock on
PostgreSQL, SQLite's database-wide write lock otherwise) so concurrent writers never fork the chain, and
an event is written in the caller's transaction: if the business change rolls back, its event goes with
it.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import json
import math
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from governance.audit.models import GENESIS_HASH, AuditEvent

# pg_advisory_xact_lock key that serialises appends: the bytes of "auditchn" as a signed bigint.
CHAIN_LOCK_KEY = int.from_bytes(b"auditchn", "big", signed=True)
SYSTEM_ACTOR = "system"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def canonical_json(value: Any) -> str:
    """One spelling for one value: sorted keys, no spaces, UTF-8 kept, dates and decimals as strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def _utc_iso(moment: datetime.datetime) -> str:
    if timezone.is_naive(moment):
        raise ValueError("audit times must be timezone-aware")
    return moment.astimezone(datetime.UTC).isoformat(timespec="microseconds")


def event_hash(
    *,
    sequence: int,
    occurred_at: datetime.datetime,
    actor_label: str,
    action: str,
    object_type: str,
    object_id: str,
    object_label: str,
    payload: Any,
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of the canonical JSON of an event's contents, linked to the previous event's hash."""
    contents = {
        "sequence": sequence,
        "occurred_at": _utc_iso(occurred_at),
        "actor_label": actor_label,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "object_label": object_label,
        "payload": payload,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(contents).encode("utf-8")).hexdigest()


def _stored_form(payload: dict) -> dict:
    """The payload exactly as the database will give it back, so the hash verifies after a round trip.

    Dates, decimals and UUIDs become strings; floats become strings too, because PostgreSQL's jsonb
    rewrites some of them (1e16 comes back as the integer 10000000000000000).
    """

    def settle(value: Any) -> Any:
        if isinstance(value, float):
            return repr(value) if math.isfinite(value) else str(value)
        if isinstance(value, dict):
            return {key: settle(item) for key, item in value.items()}
        if isinstance(value, list):
            return [settle(item) for item in value]
        return value

    return settle(json.loads(canonical_json(payload)))


def head() -> tuple[int, str]:
    """The sequence and hash of the last event, or (0, the genesis hash) when the trail is empty."""
    last = AuditEvent.objects.order_by("-sequence").values_list("sequence", "hash").first()
    return last if last is not None else (0, GENESIS_HASH)


def _lock_chain() -> None:
    # On SQLite the settings open every transaction with BEGIN IMMEDIATE: the database-wide write lock
    # taken by the atomic block already serialises appends.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])


def _label_of(obj: Model, max_length: int) -> str:
    label = str(obj)
    return label if len(label) <= max_length else label[: max_length - 1] + "…"


def record(
    *,
    actor,
    action: str,
    obj: Model | None = None,
    payload: dict | None = None,
    actor_label: str | None = None,
    at: datetime.datetime | None = None,
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction."""
    if payload is not None and not isinstance(payload, dict):
        raise TypeError("an audit payload is a dict of what changed")
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None  # an anonymous visitor is nobody: the label says who acted
    if actor_label is None:
        actor_label = actor.get_username() if actor is not None else SYSTEM_ACTOR
    object_type = obj._meta.label_lower if obj is not None else ""
    object_id = str(obj.pk) if obj is not None else ""
    object_label = "" if obj is None else _label_of(obj, AuditEvent._meta.get_field("object_label").max_length)
    stored_payload = _stored_form(payload or {})
    occurred_at = at or timezone.now()
    _utc_iso(occurred_at)  # refuse a naive time before taking the lock
    with transaction.atomic():
        _lock_chain()
        previous_sequence, previous_hash = head()
        sequence = previous_sequence + 1
        event = AuditEvent(
            sequence=sequence,
            occurred_at=occurred_at,
            actor=actor,
            actor_label=actor_label,
            action=action,
            object_type=object_type,
            object_id=object_id,
            object_label=object_label,
            payload=stored_payload,
            prev_hash=previous_hash,
        )
        event.hash = _hash_of(event)
        event.save(force_insert=True)
    return event


def _hash_of(event: AuditEvent) -> str:
    return event_hash(
        sequence=event.sequence,
        occurred_at=event.occurred_at,
        actor_label=event.actor_label,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        object_label=event.object_label,
        payload=event.payload,
        prev_hash=event.prev_hash,
    )


HASH = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Checkpoint:
    """A position of the chain kept outside the database: event `sequence` had hash `hash` (0: the start).

    An evidence pack's manifest records two (`audit_chain_head`, `audit_chain_as_of`). The chain alone
    cannot show that its last events were deleted: the rows left still link up. A checkpoint can, and it
    also catches a trail rebuilt after the point it records. A checkpoint only ever adds a condition, so
    a forged one can make verification fail, never pass.
    """

    sequence: int
    hash: str
    source: str = "the checkpoint"

    def __post_init__(self):
        if isinstance(self.sequence, bool) or not isinstance(self.sequence, int) or self.sequence < 0:
            raise ValueError("a checkpoint's sequence is a whole number, 0 or more")
        if not isinstance(self.hash, str) or not HASH.match(self.hash):
            raise ValueError("a checkpoint's hash is 64 lower-case hexadecimal characters (SHA-256)")
        if self.sequence == 0 and self.hash != GENESIS_HASH:
            raise ValueError("the chain's start (sequence 0) has the genesis hash, 64 zeros")


@dataclass(frozen=True)
class ChainVerification:
    """What `verify` found: intact, or the first broken link named in a plain sentence.

    `head_sequence` and `head_hash` are the chain's head when it is intact, and the last event that
    verified when it is not.
    """

    ok: bool
    checked: int
    head_sequence: int
    head_hash: str
    first_broken_sequence: int | None = None
    problem: str | None = None
    checkpoints_matched: int = 0


def _missing(expected: int, found: int, previous: int) -> str:
    if found == expected + 1:
        return f"event {expected} is missing (the sequence jumps from {previous} to {found})"
    return f"events {expected}–{found - 1} are missing (the sequence jumps from {previous} to {found})"


_VERIFIED_FIELDS = (
    "sequence",
    "occurred_at",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "object_label",
    "payload",
    "prev_hash",
    "hash",
)


def _short(hash_: str) -> str:
    return hash_[:16] + "…"


def verify(*, chunk_size: int = 5000, checkpoints: Iterable[Checkpoint] = ()) -> ChainVerification:
    """Recompute every hash and link in sequence order, streaming, and stop at the first broken one.

    With `checkpoints`, the chain must also hold each of them: the event at its sequence with its hash.
    """
    rows = AuditEvent.objects.order_by("sequence").values_list(*_VERIFIED_FIELDS).iterator(chunk_size=chunk_size)
    expected_at: dict[int, list[Checkpoint]] = {}
    for checkpoint in checkpoints:
        expected_at.setdefault(checkpoint.sequence, []).append(checkpoint)
    matched = len(expected_at.pop(0, []))  # the start is the genesis hash, which every chain begins from
    checked, last_sequence, last_hash = 0, 0, GENESIS_HASH

    def broken(sequence: int, problem: str) -> ChainVerification:
        return ChainVerification(False, checked, last_sequence, last_hash, sequence, problem, matched)

    for row in rows:
        sequence, occurred_at, actor_label, action, object_type, object_id, object_label = row[:7]
        payload, prev_hash, stored_hash = row[7:]
        expected = last_sequence + 1
        if sequence != expected:
            return broken(expected, _missing(expected, sequence, last_sequence))
        recomputed = event_hash(
            sequence=sequence,
            occurred_at=occurred_at,
            actor_label=actor_label,
            action=action,
            object_type=object_type,
            object_id=object_id,
            object_label=object_label,
            payload=payload,
            prev_hash=prev_hash,
        )
        if recomputed != stored_hash:
            return broken(sequence, f"event {sequence} was altered: its stored hash does not match its contents")
        if prev_hash != last_hash:
            return broken(sequence, f"event {sequence} links to the wrong previous hash")
        for checkpoint in expected_at.pop(sequence, ()):
            if checkpoint.hash != stored_hash:
                return broken(
                    sequence,
                    f"event {sequence} is not the one {checkpoint.source} recorded (hash {_short(checkpoint.hash)}, "
                    f"now {_short(stored_hash)}): the trail was rewritten from there or before",
                )
            matched += 1
        checked, last_sequence, last_hash = checked + 1, sequence, stored_hash
    if expected_at:
        furthest = max(expected_at)
        source = expected_at[furthest][0].source
        missing = (
            f"event {furthest} is" if furthest == last_sequence + 1 else f"events {last_sequence + 1}–{furthest} are"
        )
        return broken(
            last_sequence + 1,
            f"the trail ends at event {last_sequence}, but {source} recorded event {furthest}: "
            f"{missing} missing (the end of the trail was cut off)",
        )
    return ChainVerification(True, checked, last_sequence, last_hash, checkpoints_matched=matched)
