"""Where a run's CPU went, per batch: gunicorn's workers, their PostgreSQL sessions, the client processes.

Events per second move with whatever else the machine runs; CPU per batch barely does, and it is what the
ratio is made of. Read from /proc (Linux), so elsewhere the numbers are left out.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

from django.db import connection

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class CpuPerBatch:
    worker_ms: float
    postgres_ms: float
    client_ms: float

    @property
    def total_ms(self) -> float:
        return self.worker_ms + self.postgres_ms + self.client_ms


def _seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def _sessions(*, ours: bool) -> list[int]:
    """The sessions on the current database: the servers' connections, and ours if asked."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND (%s OR pid <> pg_backend_pid())",
            [ours],
        )
        return [pid for (pid,) in cursor.fetchall()]


def _clients() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # finished (joined) children: the client processes
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """`meter = CpuMeter(server_pid)`, run the load, then `meter.per_batch(batches)`. With
    `our_session=True` the caller's own database session counts too (the ingestion benchmark folds the
    batches still waiting after the last answer there: part of the work measured)."""

    available = Path("/proc/self/stat").exists()

    def __init__(self, server_pid: int, *, our_session: bool = False):
        if not self.available:
            return
        self.our_session = our_session
        self.workers = {pid: _seconds(pid) for pid in _children(server_pid)}
        self.sessions = {pid: _seconds(pid) for pid in _sessions(ours=our_session)}
        self.clients = _clients()

    def per_batch(self, batches: int) -> CpuPerBatch | None:
        """CPU since the meter started, per batch; None where /proc is not there to read. A session opened
        during the run counts whole."""
        if not self.available:
            return None
        workers = sum(_seconds(pid) - start for pid, start in self.workers.items())
        sessions = sum(_seconds(pid) - self.sessions.get(pid, 0.0) for pid in _sessions(ours=self.our_session))
        clients = _clients() - self.clients
        return CpuPerBatch(*(seconds * 1000 / batches for seconds in (workers, sessions, clients)))
