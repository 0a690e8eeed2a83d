"""`manage.py benchmark_ingest`: ingestion under gunicorn against a minimal reference endpoint, and a full
drift sweep, on a fresh PostgreSQL database (`governance_bench`, beside the one DATABASE_URL names).

Targets (the issue): the real endpoint at ≥ 0.5× the reference's events/s, with validation, idempotency
and edge aggregation included; a sweep over 1,000 features × 20 declared signals and 50,000 edges in
under 2 s. Exits 0 only when both hold. The parts live in `governance.drift.benchmarks`.

The real endpoint's clock (and its CPU) runs until every accepted event is in the edges and days: after
the last answer, this process folds whatever batches still wait (`fold_staged_observations`), and only
then stops it. Both endpoints are warmed up with the same few real batches, from concurrent clients so
that every gunicorn worker has served some, and each run starts from empty tables.
"""

from __future__ import annotations

import datetime
import os
import time
from contextlib import ExitStack
from dataclasses import dataclass, field

import orjson
import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from governance.accounts.models import Role, TokenScope, User
from governance.accounts.tokens import token_issue
from governance.celery import app as celery_app
from governance.drift.benchmarking import build_drift_fixture
from governance.drift.benchmarks import database
from governance.drift.benchmarks.cpu import CpuMeter
from governance.drift.benchmarks.events import ZIPF_EXPONENT, Workload, generate_workload
from governance.drift.benchmarks.load import LoadResult, post, send_batches
from governance.drift.benchmarks.reference import TABLE_DDL
from governance.drift.benchmarks.servers import Gunicorn, ServerFailed
from governance.drift.evaluate import evaluate_drift
from governance.drift.ingest import fold_staged_observations

OBSERVATIONS = "/api/v1/observations"
RATIO_TARGET = 0.5
SWEEP_TARGET_SECONDS = 2.0
SWEEP_FEATURES, SWEEP_SIGNALS, SWEEP_EDGES, SWEEP_RUNS = 1000, 20, 50_000, 3


class BenchmarkFailed(Exception):
    """A run did not do what it must (an error answer, a lost event, a wrong total): no number counts."""


@dataclass
class IngestReport:
    workload: Workload
    server: str  # gunicorn's settings, the same for both endpoints
    clients: int
    reference: list[LoadResult] = field(default_factory=list)
    real: list[LoadResult] = field(default_factory=list)

    @staticmethod
    def best(runs: list[LoadResult]) -> LoadResult:
        return max(runs, key=lambda run: run.events_per_second)

    @property
    def ratio(self) -> float:
        return self.best(self.real).events_per_second / self.best(self.reference).events_per_second


@dataclass
class SweepReport:
    build_seconds: float
    seconds: list[float]
    features: int
    opened: int

    @property
    def passed(self) -> bool:
        return max(self.seconds) < SWEEP_TARGET_SECONDS


class Command(BaseCommand):
    help = "Benchmark ingestion (real endpoint vs a COPY-only reference, under gunicorn) and the drift sweep."

    def add_arguments(self, parser):
        parser.add_argument("--events", type=int, default=200_000, help="Events to send per run.")
        parser.add_argument("--batch", type=int, default=1000, help="Events per request.")
        parser.add_argument("--edges", type=int, default=3000, help="Distinct paths the events are drawn from.")
        parser.add_argument("--zipf", type=float, default=ZIPF_EXPONENT, help="Skew: path rank r has weight r^-zipf.")
        parser.add_argument("--clients", type=int, default=4, help="Concurrent client processes.")
        parser.add_argument("--workers", type=int, default=2, help="Gunicorn workers, for both endpoints.")
        parser.add_argument(
            "--threads", type=int, default=1, help="Threads per gunicorn worker (>1: gthread), for both endpoints."
        )
        parser.add_argument("--runs", type=int, default=3, help="Runs of each endpoint, alternating; best counts.")
        parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13", help="Broker and cache; purged.")
        parser.add_argument("--keep", action="store_true", help=f"Keep the {database.BENCH_DATABASE} database.")

    def handle(self, *args, **options):
        started = time.monotonic()
        try:
            url = database.postgresql_url(os.environ.get("DATABASE_URL"))
        except database.NotPostgreSQL as error:
            raise CommandError(str(error)) from None
        bench_url = database.with_database(url, database.BENCH_DATABASE)
        broker = redis.Redis.from_url(options["redis_url"])
        broker.flushdb()
        # This process folds the last batches (see `settle`): it queues their drift evaluation as the
        # servers do, instead of running it here in-process.
        celery_app.conf.update(broker_url=options["redis_url"], task_always_eager=False)
        database.recreate(url)
        try:
            database.migrate(bench_url, settings.BASE_DIR)
            with database.django_using(database.BENCH_DATABASE):
                ingest = self.benchmark_ingest(bench_url, options, broker)
                sweep = self.benchmark_sweep()
        except (BenchmarkFailed, ServerFailed) as error:
            raise CommandError(str(error)) from None
        finally:
            broker.flushdb()
            if not options["keep"]:
                database.drop(url)
        self.report(ingest, sweep, time.monotonic() - started)
        if ingest.ratio < RATIO_TARGET or not sweep.passed:
            raise CommandError("A target was missed (see the table above).")

    # --- ingestion ---------------------------------------------------------------------------------------

    def benchmark_ingest(self, bench_url: str, options: dict, broker: redis.Redis) -> IngestReport:
        admin = User.objects.create_user(
            username="bench-admin", role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True
        )
        token = token_issue(
            actor=admin, name="bench-shipper", scopes=[TokenScope.OBSERVATIONS_WRITE], teams=[], expires_in_days=1
        )
        database.execute(TABLE_DDL)
        workload = generate_workload(
            events=options["events"],
            batch=options["batch"],
            edges=options["edges"],
            zipf=options["zipf"],
            now=datetime.datetime.now(datetime.UTC),
        )
        env = {
            "DATABASE_URL": bench_url,
            "APP_ENV": "development",
            "DEBUG": "0",
            "CELERY_BROKER_URL": options["redis_url"],  # drift evaluation is queued, as in production
            "CACHE_URL": options["redis_url"],
            "LOG_LEVEL": "WARNING",
        }
        server = {"workers": options["workers"], "threads": options["threads"], "env": env, "cwd": settings.BASE_DIR}
        real_headers = {"Authorization": f"Bearer {token.plaintext}", "Content-Type": "application/json"}
        reference_headers = {"Content-Type": "application/json"}
        send = {"bodies": workload.bodies, "events": workload.events, "clients": options["clients"]}
        batches = len(workload.bodies)

        with ExitStack() as servers:
            real = servers.enter_context(Gunicorn("governance.wsgi", probe_path=OBSERVATIONS, **server))
            reference = servers.enter_context(
                Gunicorn("governance.drift.benchmarks.reference:application", probe_path="/", **server)
            )
            report = IngestReport(workload, real.settings, options["clients"])
            self.warm_up(real.port, OBSERVATIONS, real_headers, options, workload, keyed=True)
            self.warm_up(reference.port, "/", reference_headers, options, workload, keyed=False)
            self.settle()  # what the warm-up left waiting, before the first run's TRUNCATE
            for run in range(1, options["runs"] + 1):
                database.execute("TRUNCATE bench_raw")
                meter = CpuMeter(reference.process.pid)
                result = send_batches(port=reference.port, path="/", headers=reference_headers, **send)
                result.cpu = meter.per_batch(batches)
                self.check_run("reference", run, result)
                self.check_totals("reference", database.reference_totals(), rows=workload.events, count=workload.events)
                report.reference.append(result)

                database.truncate_drift()
                broker.flushdb()
                keys = [f"bench-run{run}-batch{index:05d}" for index in range(batches)]
                meter = CpuMeter(real.process.pid, our_session=True)
                result = send_batches(port=real.port, path=OBSERVATIONS, headers=real_headers, keys=keys, **send)
                result.settle_seconds = self.settle()
                result.cpu = meter.per_batch(batches)
                self.check_run("real", run, result)
                self.check_real_totals(run, workload)
                report.real.append(result)
            self.check_replay(real.port, real_headers, keys[0], workload)
        return report

    def settle(self) -> float:
        """Fold the batches still waiting when the last answer came (after any fold already running), so
        that the clock stops when every accepted event is in the edges and days; returns the seconds."""
        started = time.monotonic()
        fold_staged_observations(wait=True)
        return time.monotonic() - started

    def warm_up(self, port: int, path: str, headers: dict, options: dict, workload: Workload, *, keyed: bool) -> None:
        """The same few real batches through each endpoint, from concurrent clients so that every gunicorn
        worker gets some: its imports done (Django loads the URLconf on a worker's first request, half a
        second of CPU), its connections open and its code paths run once, as in a server that has been up
        a while. Their rows are emptied before each run."""
        bodies = workload.bodies[: 4 * options["workers"] * options["threads"]]
        keys = [f"bench-warm-up-{index}" for index in range(len(bodies))] if keyed else None
        events = sum(len(orjson.loads(body)) for body in bodies)
        result = send_batches(
            port=port, path=path, headers=headers, bodies=bodies, events=events, clients=options["clients"], keys=keys
        )
        if not result.ok:
            raise BenchmarkFailed(f"Warm-up of {path}: statuses {dict(result.statuses)}; {result.failures[:3]}")

    def check_run(self, endpoint: str, run: int, result: LoadResult) -> None:
        if not result.ok:
            failures = "\n  ".join(result.failures[:10])
            raise BenchmarkFailed(
                f"{endpoint} run {run}: statuses {dict(result.statuses)}, accepted {result.accepted:,} of "
                f"{result.events:,}.\n  {failures}"
            )

    def check_totals(self, endpoint: str, totals: database.Totals, **expected: int) -> None:
        found = {name: getattr(totals, name) for name in expected}
        if found != expected:
            raise BenchmarkFailed(f"{endpoint}: the tables hold {found}, expected {expected}.")

    def check_real_totals(self, run: int, workload: Workload) -> None:
        self.check_totals(
            f"real run {run}",
            database.drift_totals(),
            rows=len(workload.paths),  # one edge per distinct path: aggregation complete
            count=workload.events,  # every event counted once
            days_count=workload.events,
            batches=len(workload.bodies),  # one stored answer per Idempotency-Key
            pending=len({path[0] for path in workload.paths}),
            staged=0,  # every accepted batch folded
        )

    def check_replay(self, port: int, headers: dict, key: str, workload: Workload) -> None:
        """The first batch again, with its key: the stored answer comes back and nothing is counted twice."""
        before = database.drift_totals()
        status, answer = post(port, OBSERVATIONS, workload.bodies[0], {**headers, "Idempotency-Key": key})
        expected = {"accepted": len(orjson.loads(workload.bodies[0])), "rejected": []}
        if status != 200 or orjson.loads(answer) != expected:
            raise BenchmarkFailed(f"Replaying {key} answered HTTP {status} {answer[:300]!r}, expected {expected}.")
        if database.drift_totals() != before:
            raise BenchmarkFailed(f"Replaying {key} changed the totals: {before} → {database.drift_totals()}.")

    # --- drift sweep -------------------------------------------------------------------------------------

    def benchmark_sweep(self) -> SweepReport:
        database.truncate_drift()  # the sweep sees the fixture alone
        building = time.monotonic()
        fixture = build_drift_fixture(features=SWEEP_FEATURES, signals_per_feature=SWEEP_SIGNALS, edges=SWEEP_EDGES)
        database.execute("ANALYZE")  # as autovacuum would have by the time a periodic sweep runs
        report = SweepReport(time.monotonic() - building, [], 0, 0)
        if fixture.edges != SWEEP_EDGES:
            raise BenchmarkFailed(f"The sweep fixture holds {fixture.edges} edges, not {SWEEP_EDGES}.")
        for run in range(SWEEP_RUNS):
            timing = time.monotonic()
            result = evaluate_drift(None)
            report.seconds.append(time.monotonic() - timing)
            if run == 0:
                report.features, report.opened = result.features, result.opened
        return report

    # --- the table ---------------------------------------------------------------------------------------

    def report(self, ingest: IngestReport, sweep: SweepReport, elapsed: float) -> None:
        workload, write = ingest.workload, self.stdout.write
        runs = len(ingest.real)
        write(
            f"ingest: {workload.events:,} events in {len(workload.bodies)} batches, {len(workload.paths):,} distinct "
            f"edges (a batch: {workload.paths_per_batch:,.0f} paths, {workload.edge_days_per_batch:,.0f} edge-days)"
        )
        write(f"        {ingest.server} for both endpoints, {ingest.clients} client processes")
        header = " ".join(f"{f'run {n}':>9}" for n in range(1, runs + 1))
        write(f"  {'events/s':<22}{header} {'best':>9} | CPU ms/batch (best run): worker postgres client total")
        for name, results in (("reference (COPY)", ingest.reference), ("real (/observations)", ingest.real)):
            best = ingest.best(results)
            cells = " ".join(f"{run.events_per_second:>9,.0f}" for run in results)
            cpu = best.cpu
            cpu_cells = (
                f"{cpu.worker_ms:>6.1f} {cpu.postgres_ms:>8.1f} {cpu.client_ms:>6.1f} {cpu.total_ms:>5.1f}"
                if cpu
                else "(no /proc)"
            )
            write(f"  {name:<22}{cells} {best.events_per_second:>9,.0f} | {'':>24}{cpu_cells}")
        verdict = "PASS" if ingest.ratio >= RATIO_TARGET else "FAIL"
        write(f"  ratio {ingest.ratio:.2f} (target ≥ {RATIO_TARGET})  {verdict}")
        settle = " ".join(f"{run.settle_seconds * 1000:.0f}" for run in ingest.real)
        write(
            "  real: the clock (and CPU) runs until the batches still waiting at the last answer are folded into "
            f"edges and days (that fold took {settle} ms)"
        )
        write(
            "  checked: every answer 200 and accepted = events; edges = distinct paths; SUM(count) of edges and of "
            "days = events; nothing left staged; one stored answer per key; a replayed key changes nothing"
        )
        write(
            f"sweep: {SWEEP_FEATURES:,} features × {SWEEP_SIGNALS} declared signals, {SWEEP_EDGES:,} edges "
            f"(built in {sweep.build_seconds:.1f} s); evaluate_drift(None) judged {sweep.features:,} keys, "
            f"opened {sweep.opened:,}"
        )
        verdict = "PASS" if sweep.passed else "FAIL"
        write(
            f"  first {sweep.seconds[0]:.2f} s, best {min(sweep.seconds):.2f} s, worst {max(sweep.seconds):.2f} s "
            f"(target < {SWEEP_TARGET_SECONDS:.0f} s, every run)  {verdict}"
        )
        write(f"total {elapsed:.0f} s")
