"""Appending to the hash chain and verifying it (governance/audit/chain.py)."""

import datetime
import decimal
import itertools
import uuid

import pytest
from django.db import transaction

from governance.audit.chain import Checkpoint, canonical_json, event_hash, head, record, verify
from governance.audit.models import GENESIS_HASH, AuditEvent
from tests.audit.tampering import remove, tamper
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db

MOMENT = datetime.datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=datetime.UTC)


def append(count: int, actor=None) -> list[AuditEvent]:
    return [
        record(actor=actor, action="feature.created", payload={"n": n}, actor_label=None if actor else "ci")
        for n in range(1, count + 1)
    ]


def test_first_event_links_to_the_genesis_hash():
    event = record(actor=None, action="catalogue.loaded")
    assert (event.sequence, event.prev_hash) == (1, GENESIS_HASH)


def test_appending_links_each_event_to_the_previous_hash():
    events = append(5)
    assert [e.sequence for e in events] == [1, 2, 3, 4, 5]
    for previous, event in itertools.pairwise(events):
        assert event.prev_hash == previous.hash
    assert head() == (5, events[-1].hash)


def test_event_names_the_actor_and_the_object_it_is_about(reviewer):
    team = TeamFactory(slug="search", name="Search")
    event = record(actor=reviewer, action="team.renamed", obj=team, payload={"name": ["Find", "Search"]})
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.actor, stored.actor_label, stored.action) == (reviewer, "reviewer", "team.renamed")
    assert (stored.object_type, stored.object_id, stored.object_label) == (
        "accounts.team",
        str(team.pk),
        "Search",
    )


def test_actor_label_is_kept_when_the_user_is_renamed(reviewer):
    record(actor=reviewer, action="auth.login")
    reviewer.username = "renamed"
    reviewer.save()
    assert AuditEvent.objects.get().actor_label == "reviewer"
    assert verify().ok


def test_a_machine_token_acts_under_its_own_name():
    event = record(actor=None, actor_label="token:ci-pipeline", action="observations.ingested")
    assert (event.actor, event.actor_label) == (None, "token:ci-pipeline")


def test_event_without_a_named_actor_is_recorded_as_the_system():
    assert record(actor=None, action="approval.expired").actor_label == "system"


def test_stored_hash_is_the_hash_of_the_stored_contents():
    record(actor=None, action="feature.created", payload={"tier": 1}, at=MOMENT)
    stored = AuditEvent.objects.get()
    assert stored.hash == event_hash(
        sequence=1,
        occurred_at=MOMENT,
        actor_label="system",
        action="feature.created",
        object_type="",
        object_id="",
        object_label="",
        payload={"tier": 1},
        prev_hash=GENESIS_HASH,
    )


def test_payload_with_dates_decimals_uuids_and_floats_verifies_after_the_database_round_trip():
    payload = {
        "expires": datetime.date(2027, 1, 31),
        "at": MOMENT,
        "ratio": decimal.Decimal("0.25"),
        "id": uuid.UUID(int=7),
        "weights": [0.1, 1e16, 2.0],
        "nested": {"b": 1, "a": ["ü", None, True]},
    }
    record(actor=None, action="decision.recorded", payload=payload)
    assert verify().ok
    assert AuditEvent.objects.get().payload["expires"] == "2027-01-31"


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        record(actor=None, action="feature.created", at=datetime.datetime(2026, 3, 1, 9, 30))
    assert not AuditEvent.objects.exists()


def test_canonical_json_is_one_spelling_for_one_value():
    assert canonical_json({"b": 1, "a": "é", "d": datetime.date(2026, 1, 2)}) == '{"a":"é","b":1,"d":"2026-01-02"}'


def test_empty_trail_verifies_with_the_genesis_head():
    result = verify()
    assert (result.ok, result.checked, result.head_sequence, result.head_hash) == (True, 0, 0, GENESIS_HASH)
    assert head() == (0, GENESIS_HASH)


def test_verify_passes_on_an_intact_chain():
    events = append(12)
    result = verify(chunk_size=5)
    assert result.ok
    assert (result.checked, result.head_sequence, result.head_hash) == (12, 12, events[-1].hash)
    assert result.first_broken_sequence is None
    assert result.problem is None


def test_changing_a_stored_event_breaks_verification_at_that_event():
    append(6)
    tamper(4, payload={"n": 400})
    result = verify()
    assert not result.ok
    assert result.first_broken_sequence == 4
    assert result.problem == "event 4 was altered: its stored hash does not match its contents"
    assert (result.checked, result.head_sequence) == (3, 3)


def test_changing_who_acted_breaks_verification_at_that_event():
    append(3)
    tamper(2, actor_label="someone-else")
    assert verify().first_broken_sequence == 2


def test_rehashing_an_altered_event_breaks_the_link_of_the_next_one():
    events = append(5)
    forged = event_hash(
        sequence=3,
        occurred_at=events[2].occurred_at,
        actor_label="ci",
        action="feature.created",
        object_type="",
        object_id="",
        object_label="",
        payload={"n": 300},
        prev_hash=events[1].hash,
    )
    tamper(3, payload={"n": 300}, hash=forged)
    result = verify()
    assert (result.ok, result.first_broken_sequence) == (False, 4)
    assert result.problem == "event 4 links to the wrong previous hash"


def test_a_deleted_middle_event_is_reported_as_a_gap():
    append(6)
    remove(3)
    result = verify()
    assert (result.ok, result.first_broken_sequence) == (False, 3)
    assert result.problem == "event 3 is missing (the sequence jumps from 2 to 4)"


def test_several_deleted_events_are_reported_as_one_range():
    append(8)
    remove(4, 5, 6)
    result = verify()
    assert result.first_broken_sequence == 4
    assert result.problem == "events 4–6 are missing (the sequence jumps from 3 to 7)"


def test_deleting_the_first_event_is_reported_as_a_gap_from_the_start():
    append(3)
    remove(1)
    assert verify().problem == "event 1 is missing (the sequence jumps from 0 to 2)"


def test_events_written_in_a_rolled_back_transaction_vanish_with_it():
    kept = record(actor=None, action="feature.created")

    class BusinessChangeFailed(Exception):
        pass

    with pytest.raises(BusinessChangeFailed), transaction.atomic():
        record(actor=None, action="registration.submitted")
        record(actor=None, action="registration.approved")
        raise BusinessChangeFailed

    assert list(AuditEvent.objects.values_list("sequence", "action")) == [(1, "feature.created")]
    assert head() == (1, kept.hash)
    assert record(actor=None, action="registration.submitted").sequence == 2
    assert verify().ok


# --- checkpoints kept outside the database ----------------------------------------------------------------------


def checkpoint_at(event: AuditEvent, source: str = "the pack") -> Checkpoint:
    return Checkpoint(event.sequence, event.hash, source=source)


def test_an_intact_chain_holds_the_checkpoints_taken_from_it():
    events = append(8)
    result = verify(checkpoints=[checkpoint_at(events[2]), checkpoint_at(events[-1]), Checkpoint(0, GENESIS_HASH)])
    assert (result.ok, result.checked, result.checkpoints_matched) == (True, 8, 3)


def test_a_cut_off_end_verifies_alone_but_not_against_the_checkpoint_of_the_old_head():
    events = append(8)
    remove(6, 7, 8)
    assert verify().ok  # what is left still links up: only a checkpoint kept elsewhere shows the loss
    result = verify(checkpoints=[checkpoint_at(events[-1], "pack.zip (audit_chain_head)")])
    assert (result.ok, result.first_broken_sequence, result.head_sequence) == (False, 6, 5)
    assert result.problem == (
        "the trail ends at event 5, but pack.zip (audit_chain_head) recorded event 8: "
        "events 6–8 are missing (the end of the trail was cut off)"
    )


def test_losing_only_the_last_event_names_it():
    events = append(4)
    remove(4)
    assert verify(checkpoints=[checkpoint_at(events[-1])]).problem == (
        "the trail ends at event 3, but the pack recorded event 4: "
        "event 4 is missing (the end of the trail was cut off)"
    )


def test_an_emptied_trail_is_caught_by_a_checkpoint():
    events = append(3)
    remove(1, 2, 3)
    result = verify(checkpoints=[checkpoint_at(events[-1])])
    assert (result.ok, result.first_broken_sequence, result.checked) == (False, 1, 0)


def test_a_trail_rebuilt_after_the_checkpoint_does_not_hold_it():
    events = append(5)
    remove(4, 5)
    record(actor=None, action="feature.created", payload={"n": "forged"}, actor_label="ci")
    record(actor=None, action="feature.created", payload={"n": "forged"}, actor_label="ci")
    assert verify().ok  # a consistent chain again, with a different event 5
    result = verify(checkpoints=[checkpoint_at(events[2]), checkpoint_at(events[-1])])
    assert (result.ok, result.first_broken_sequence, result.checkpoints_matched) == (False, 5, 1)
    assert result.problem.startswith(f"event 5 is not the one the pack recorded (hash {events[-1].hash[:16]}…")
    assert result.problem.endswith("the trail was rewritten from there or before")


def test_a_break_before_a_checkpoint_is_reported_first():
    events = append(5)
    tamper(2, payload={"n": 200})
    result = verify(checkpoints=[checkpoint_at(events[-1])])
    assert (result.first_broken_sequence, result.problem) == (
        2,
        "event 2 was altered: its stored hash does not match its contents",
    )


@pytest.mark.parametrize(
    ("sequence", "hash_", "message"),
    [
        (-1, GENESIS_HASH, "0 or more"),
        (True, GENESIS_HASH, "whole number"),
        (3, "abc", "64 lower-case hexadecimal"),
        (3, "A" * 64, "64 lower-case hexadecimal"),
        (0, "1" * 64, "genesis hash"),
    ],
)
def test_a_malformed_checkpoint_is_refused(sequence, hash_, message):
    with pytest.raises(ValueError, match=message):
        Checkpoint(sequence, hash_)
