"""Tampering with the audit trail behind the application's back is detected, and the report names where.

The attacker is the database's superuser. On PostgreSQL the append-only triggers refuse UPDATE, DELETE and
TRUNCATE from anyone, superusers included; a superuser can still switch triggers off for a session
(`SET session_replication_role = replica`), which is what every attack below does first (on SQLite
there is no trigger to switch off). The auditor then runs `manage.py verify_audit --checkpoint pack.zip`
with an evidence pack built before the attack: its manifest records the chain's head (sequence and
hash), which is what shows a trail cut short, emptied, or rebuilt consistently from some point on; the
chain alone shows the rest. Where the report points: a changed event at that event (re-sealed with a
fresh hash: at the next one, whose link no longer holds), a deleted one at the gap it left, a cut-off end
at its first missing event, a trail rebuilt consistently where it first disagrees with the pack (its
head: one checkpoint cannot say where before it the rewriting began). The last test reports the figures
in pytest's "security figures" summary.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from governance.audit.chain import event_hash, record, verify
from governance.audit.checkpoints import checkpoints_from
from governance.audit.models import AuditEvent
from tests.audit.packs import build_registry_pack
from tests.audit.tampering import superuser_sql as sql
from tests.evidence.test_pack_support import use_temporary_signing_key

pytestmark = pytest.mark.django_db

EVENTS = 12
TABLE = AuditEvent._meta.db_table
ON_POSTGRESQL = connection.vendor == "postgresql"
ACTIONS = ("feature.created", "registration.edited", "registration.submitted", "decision.recorded")


def stored(sequence: int) -> dict:
    return AuditEvent.objects.filter(sequence=sequence).values().get()


def reseal(sequence: int, prev_hash: str | None = None) -> str:
    """Recompute the stored event's own hash (and link) from its current contents, as a careful forger would."""
    row = stored(sequence)
    prev_hash = row["prev_hash"] if prev_hash is None else prev_hash
    contents = {name: row[name] for name in ("sequence", "occurred_at", "actor_label", "action", "object_type")}
    contents |= {name: row[name] for name in ("object_id", "object_label", "payload")}
    new_hash = event_hash(**contents, prev_hash=prev_hash)
    sql("UPDATE {table} SET prev_hash = %s, hash = %s WHERE sequence = %s", [prev_hash, new_hash, sequence])
    return new_hash


# --- the attacks -------------------------------------------------------------------------------------------------


def change_a_payload():
    assert sql("""UPDATE {table} SET payload = '{{"tier": 3}}' WHERE sequence = 7""") == 1


def change_who_acted():
    assert sql("UPDATE {table} SET actor_label = 'someone-else' WHERE sequence = 3") == 1


def backdate_an_event():
    earlier = stored(5)["occurred_at"] - datetime.timedelta(days=1)
    assert sql("UPDATE {table} SET occurred_at = %s WHERE sequence = 5", [earlier]) == 1


def change_and_reseal_an_event():
    assert sql("""UPDATE {table} SET payload = '{{"tier": 0}}' WHERE sequence = 8""") == 1
    reseal(8)


def swap_two_events():
    sql("UPDATE {table} SET sequence = 1000004 WHERE sequence = 4")
    sql("UPDATE {table} SET sequence = 4 WHERE sequence = 5")
    sql("UPDATE {table} SET sequence = 5 WHERE sequence = 1000004")


def delete_a_middle_event():
    assert sql("DELETE FROM {table} WHERE sequence = 6") == 1


def delete_a_run_of_events():
    assert sql("DELETE FROM {table} WHERE sequence BETWEEN 4 AND 6") == 3


def delete_the_first_event():
    assert sql("DELETE FROM {table} WHERE sequence = 1") == 1


def cut_off_the_last_three_events():
    assert sql("DELETE FROM {table} WHERE sequence > %s", [EVENTS - 3]) == 3


def empty_the_table():
    sql("TRUNCATE {table}" if ON_POSTGRESQL else "DELETE FROM {table}")


def cut_off_the_end_and_write_new_events():
    sql("DELETE FROM {table} WHERE sequence > %s", [EVENTS - 2])
    for _ in range(3):
        record(actor=None, action="feature.created", actor_label="intruder")


def rewrite_from_an_event_on_and_reseal_every_hash():
    assert sql("""UPDATE {table} SET payload = '{{"tier": 0}}' WHERE sequence = 5""") == 1
    previous = reseal(5)
    for sequence in range(6, EVENTS + 1):
        previous = reseal(sequence, prev_hash=previous)


@dataclass(frozen=True)
class Attack:
    tamper: Callable[[], None]
    first_broken: int
    problem: str  # how the report starts
    chain_alone_shows_it: bool = True


ATTACKS = {
    "UPDATE one event's payload": Attack(change_a_payload, 7, "event 7 was altered"),
    "UPDATE who acted": Attack(change_who_acted, 3, "event 3 was altered"),
    "UPDATE when it happened": Attack(backdate_an_event, 5, "event 5 was altered"),
    "UPDATE one event and re-seal its hash": Attack(change_and_reseal_an_event, 9, "event 9 links to the wrong"),
    "UPDATE two sequence numbers (reorder)": Attack(swap_two_events, 4, "event 4 was altered"),
    "DELETE one event in the middle": Attack(delete_a_middle_event, 6, "event 6 is missing (the sequence jumps"),
    "DELETE a run of events": Attack(delete_a_run_of_events, 4, "events 4–6 are missing"),
    "DELETE the first event": Attack(delete_the_first_event, 1, "event 1 is missing"),
    "DELETE the last 3 events": Attack(
        cut_off_the_last_three_events, 10, "the trail ends at event 9, but pack.zip", chain_alone_shows_it=False
    ),
    "TRUNCATE the whole trail": Attack(
        empty_the_table, 1, "the trail ends at event 0, but pack.zip", chain_alone_shows_it=False
    ),
    "DELETE the end and append new events": Attack(
        cut_off_the_end_and_write_new_events, 12, "event 12 is not the one pack.zip", chain_alone_shows_it=False
    ),
    "UPDATE an event and re-seal every hash after it": Attack(
        rewrite_from_an_event_on_and_reseal_every_hash,
        12,
        "event 12 is not the one pack.zip",
        chain_alone_shows_it=False,
    ),
}
DETECTED: dict[str, bool] = {}
REFUSED: dict[str, bool] = {}


# --- the trail, the auditor's pack, the auditor's check ----------------------------------------------------------


@pytest.fixture
def pack(settings, tmp_path):
    """Twelve events, then the auditor's evidence pack recording event 12 as the head."""
    use_temporary_signing_key(settings, tmp_path)
    for n in range(EVENTS):
        record(actor=None, action=ACTIONS[n % len(ACTIONS)], actor_label="owner", payload={"n": n, "tier": 1})
    path = tmp_path / "pack.zip"
    build_registry_pack(path)
    assert [checkpoint.sequence for checkpoint in checkpoints_from(str(path))] == [EVENTS]
    return path


def auditor_verifies(pack) -> str:
    """`manage.py verify_audit --checkpoint pack.zip`: its report when it fails (exit 1), else ''."""
    try:
        call_command("verify_audit", "--checkpoint", str(pack))
    except CommandError as failure:
        assert failure.returncode == 1
        return str(failure)
    return ""


@pytest.mark.parametrize("name", ATTACKS)
def test_tampering_is_reported_at_the_event_it_touched(pack, name):
    attack = ATTACKS[name]
    DETECTED[name] = False
    attack.tamper()
    report = auditor_verifies(pack)
    assert report.startswith(f"Audit chain broken at event {attack.first_broken}: {attack.problem}"), report
    assert verify().ok is not attack.chain_alone_shows_it  # which attacks only an outside checkpoint reveals
    DETECTED[name] = True


def test_an_untouched_trail_verifies_against_the_pack(pack):
    assert auditor_verifies(pack) == ""


# --- with the triggers on, the database refuses ------------------------------------------------------------------

REFUSALS = {
    "UPDATE": "UPDATE {table} SET action = 'forged' WHERE sequence = 2",
    "DELETE": "DELETE FROM {table} WHERE sequence = 2",
    "TRUNCATE": "TRUNCATE {table}",
}


@pytest.mark.skipif(not ON_POSTGRESQL, reason="the append-only triggers exist on PostgreSQL only")
@pytest.mark.parametrize("statement", REFUSALS)
def test_with_the_triggers_on_the_database_refuses_even_its_superuser(pack, statement):
    REFUSED[statement] = False
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (True,)  # the attacker above: the same role, triggers left on
    refusal = pytest.raises(DatabaseError, match="audit events are append-only")
    with refusal, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(REFUSALS[statement].format(table=connection.ops.quote_name(TABLE)))
    assert AuditEvent.objects.count() == EVENTS and verify().ok
    REFUSED[statement] = True


# --- the figures ---------------------------------------------------------------------------------------------------


def test_audit_tamper_figures(request, figure):
    """Runs last and reports the figures; skips when only part of the module was selected."""
    selected = {item.originalname for item in request.session.items if item.module is request.module}
    if "test_tampering_is_reported_at_the_event_it_touched" not in selected or len(DETECTED) < len(ATTACKS):
        pytest.skip("the figures count every attack: run the whole module")
    detected = sum(DETECTED.values())
    assert detected == len(ATTACKS), [name for name, found in DETECTED.items() if not found]
    only_checkpoint = sum(not attack.chain_alone_shows_it for attack in ATTACKS.values())
    database = "PostgreSQL, superuser with triggers switched off" if ON_POSTGRESQL else "SQLite"
    figure(
        f"audit tamper ({database}): {detected}/{len(ATTACKS)} attacks detected by verify_audit --checkpoint "
        f"pack.zip, each at the expected event ({only_checkpoint} of them only through the pack's checkpoint)"
    )
    if ON_POSTGRESQL:
        refused = sum(REFUSED.values())
        assert refused == len(REFUSALS), REFUSED
        figure(f"audit tamper (PostgreSQL, triggers on): {refused}/{len(REFUSALS)} of UPDATE, DELETE, TRUNCATE refused")
