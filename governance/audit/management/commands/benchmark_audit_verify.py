"""`manage.py benchmark_audit_verify [--events 100000] [--target-seconds 5]`: how fast the audit chain verifies.

Appends `--events` synthetic events to the chain (real hashes, written set-based: see
governance/audit/benchmarking.py) inside a transaction that is rolled back, then times, on this database:
the same streaming query `verify` runs, read without checking anything (the baseline: what the database
and the driver cost), and `verify` itself (every hash and link recomputed). Prints both as events/s and
seconds per 100,000 events; exits 1 when verification takes more than `--target-seconds` per 100,000.
The run holds the chain's lock, so every state change waits for it: a trail that already holds events is
refused unless `--force`.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from governance.audit.benchmarking import append_synthetic_events
from governance.audit.chain import _VERIFIED_FIELDS, verify
from governance.audit.models import AuditEvent

PER = 100_000


class Rollback(Exception):
    """Leaves the benchmark's transaction without keeping anything."""


class Command(BaseCommand):
    help = "Time audit-chain verification on synthetic events (rolled back); exit 1 if slower than the target."

    def add_arguments(self, parser):
        parser.add_argument("--events", type=int, default=PER, help="Synthetic events to append (default 100,000).")
        parser.add_argument("--chunk-size", type=int, default=5000, help="Rows per round trip, as verify_audit.")
        parser.add_argument("--target-seconds", type=float, default=5.0, help="Most seconds per 100,000 events.")
        parser.add_argument("--force", action="store_true", help="Run even though the trail holds events.")

    def handle(self, *args, events: int, chunk_size: int, target_seconds: float, force: bool, **options):
        if events < 1:
            raise CommandError("--events must be at least 1.")
        if AuditEvent.objects.exists() and not force:
            raise CommandError(
                "The audit trail holds events: the benchmark would hold the chain's lock, and every state "
                "change would wait. Run it on a copy, or pass --force."
            )
        try:
            with transaction.atomic():
                self._run(events, chunk_size, target_seconds)
                raise Rollback
        except Rollback:
            pass

    def _run(self, events: int, chunk_size: int, target_seconds: float) -> None:
        started = time.perf_counter()
        append_synthetic_events(events)
        written = time.perf_counter() - started
        total = AuditEvent.objects.count()

        started = time.perf_counter()
        rows = AuditEvent.objects.order_by("sequence").values_list(*_VERIFIED_FIELDS).iterator(chunk_size=chunk_size)
        read = sum(1 for _ in rows)
        reading = time.perf_counter() - started

        started = time.perf_counter()
        result = verify(chunk_size=chunk_size)
        verifying = time.perf_counter() - started
        if not result.ok or result.checked != total or read != total:
            raise CommandError(f"The synthetic trail did not verify: {result.problem or 'events were missed'}.")

        per_100k = verifying * PER / total
        self.stdout.write(f"{connection.vendor}: {total:,} events ({events:,} synthetic, written in {written:.2f} s)")
        self.stdout.write(f"  read only (baseline) {reading:8.2f} s  {total / reading:12,.0f} events/s")
        self.stdout.write(f"  verify               {verifying:8.2f} s  {total / verifying:12,.0f} events/s")
        self.stdout.write(f"  verify per 100,000 events: {per_100k:.2f} s (target ≤ {target_seconds:g} s)")
        if per_100k > target_seconds:
            raise CommandError(f"Verification took {per_100k:.2f} s per 100,000 events, over {target_seconds:g} s.")
        self.stdout.write(self.style.SUCCESS("Within the target; nothing was kept (rolled back)."))
