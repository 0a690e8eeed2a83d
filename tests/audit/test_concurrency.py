"""Concurrent writers append one after another: the chain never forks."""

import threading
import time

import pytest
from django.db import OperationalError, connection

from governance.audit.chain import record, verify
from governance.audit.models import AuditEvent

THREADS = 8
APPENDS_EACH = 25


def append_waiting_for_the_write_lock(**event) -> None:
    """Append; on SQLite's in-memory test database, wait for the write lock as a file database would.

    The test database is in memory with a shared cache, where a second writer is refused at once
    ("database table is locked") instead of waiting out the busy timeout like the file database the app
    runs on. Refused is still serialised: retry until it is this writer's turn. PostgreSQL waits on the
    advisory lock by itself.
    """
    while True:
        try:
            record(**event)
            return
        except OperationalError as refusal:
            if connection.vendor != "sqlite" or "locked" not in str(refusal):
                raise
            time.sleep(0.001)


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_leave_one_unbroken_chain():
    start = threading.Barrier(THREADS)
    failures: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            start.wait()
            for n in range(APPENDS_EACH):
                append_waiting_for_the_write_lock(
                    actor=None,
                    actor_label=f"writer-{number}",
                    action="observations.ingested",
                    payload={"n": n},
                )
        except BaseException as failure:  # surfaced by the assertion below, with the thread's error
            failures.append(failure)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    total = THREADS * APPENDS_EACH
    assert list(AuditEvent.objects.values_list("sequence", flat=True)) == list(range(1, total + 1))
    result = verify()
    assert (result.ok, result.checked, result.head_sequence) == (True, total, total)
    labels = AuditEvent.objects.values_list("actor_label", flat=True)
    assert {label: list(labels).count(label) for label in set(labels)} == {
        f"writer-{number}": APPENDS_EACH for number in range(THREADS)
    }
