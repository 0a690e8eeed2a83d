"""Real Celery workers (prefork, not eager) against PostgreSQL and Redis, for tests marked `worker`.

A worker is a subprocess (`celery -A governance worker`) using the test database and Redis db 12 as
broker and cache; the test process switches its own Celery app and cache to the same Redis while a test
runs (`on_redis`), so what the live server ingests is scheduled exactly as in production. Without
PostgreSQL (a worker cannot share SQLite's in-memory test database) or Redis the tests skip, or fail
when GOVERNANCE_WORKER_TESTS=required (CI's PostgreSQL pass sets it, so they cannot silently skip there).
"""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import quote

import kombu.pools
import orjson
import psycopg
import pytest
import redis
import requests
from django.db import connection
from django.utils import timezone

from governance.accounts.models import TokenScope
from governance.accounts.tokens import token_issue
from governance.drift import scheduling
from governance.drift.evaluate import EVALUATION_LOCK_KEY
from tests.services import require_postgresql_and_redis

ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")
REDIS_URL = "redis://127.0.0.1:6379/12"  # the worker tests' own Redis database: flushed, nothing else
COALESCE_SECONDS = 2  # the evaluation window in tests (production: scheduling.COALESCE_SECONDS)
WAIT_SECONDS = 30  # the longest any test waits for a worker to do something


def require_services() -> None:
    """The real-worker tests need PostgreSQL and Redis (tests/services.py)."""
    require_postgresql_and_redis(REDIS_URL, "a real Celery worker test")


def database_url(**options: str) -> str:
    """The test database (test_…) as a URL for the worker; `options` go to libpq's `options`."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    url = f"postgres://{credentials}@{host}/{quote(db['NAME'], safe='')}"
    if options:
        url += "?options=" + quote(" ".join(f"-c {name}={value}" for name, value in options.items()), safe="")
    return url


def wait_for(condition, *, timeout: float = WAIT_SECONDS, interval: float = 0.2, what: str = "the condition"):
    """Poll until `condition()` is truthy (and return it) or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"Waited {timeout:.0f} s for {what}.")
        time.sleep(interval)


# Imported by every test worker, never by this process: it counts each task run in Redis (`runs`).
INSTRUMENTED = "tests.worker.instrumented"


class Worker:
    """One `celery worker` subprocess (its own process group, so it dies whole); its log in `log`."""

    def __init__(self, log: Path, **env: str):
        self.log = log
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "governance.settings"),
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": REDIS_URL,
            "CACHE_URL": REDIS_URL,
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.env.pop("CELERY_RESULT_BACKEND", None)
        self.process: subprocess.Popen | None = None

    def start(self) -> Worker:
        command = [str(CELERY), "-A", "governance", "worker", "-P", "prefork", "-c", "1", "-l", "info"]
        command += ["-Q", "celery", "-n", f"test-{uuid.uuid4().hex[:8]}@%h", "-I", INSTRUMENTED]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 (a fixed command line, no outside input)
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

        def ready():
            if self.process.poll() is not None:
                pytest.fail(f"The worker exited with {self.process.returncode}:\n{self.text()[-3000:]}")
            return " ready." in self.text()

        wait_for(ready, what="the worker to start")
        return self

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def count(self, needle: str) -> int:
        return self.text().count(needle)

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool child) at once: no shutdown, no acknowledgement."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """Cold shutdown (SIGQUIT: a second faster than a warm one), or SIGKILL if it will not go."""
        if not self.process or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGQUIT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
        else:
            with suppress(ProcessLookupError):  # the pool child follows its parent; make sure it did
                os.killpg(self.process.pid, signal.SIGKILL)


@pytest.fixture
def on_redis(settings, monkeypatch):
    """This process's Celery app and cache on Redis db 12, not eager (restored afterwards); yields the
    Redis client. Flushes db 12 first: no queued message or coalescing flag survives from elsewhere."""
    from governance.celery import app

    require_services()
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    names = ("task_always_eager", "broker_url", "broker_transport_options")
    saved = {name: app.conf[name] for name in names}
    app.conf.update(task_always_eager=False, broker_url=REDIS_URL, broker_transport_options={})
    _reset_pools(app)
    settings.CELERY_BROKER_URL = REDIS_URL
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    monkeypatch.setattr(scheduling, "COALESCE_SECONDS", COALESCE_SECONDS)
    yield client
    _reset_pools(app)
    app.conf.update(saved)
    client.flushdb()
    client.close()


def runs(client: redis.Redis, task_name: str) -> int:
    """How many times the test workers have started `task_name` since the test began (the counter
    tests/worker/instrumented.py keeps)."""
    return int(client.get(f"runs:{task_name}") or 0)


def messages_left(client: redis.Redis) -> int:
    """Messages still in Redis for a worker to run: waiting in the queue, or delivered and unacknowledged
    (kombu's Redis transport keeps those in the `unacked` hash until acknowledged, and redelivers them)."""
    return client.llen("celery") + client.hlen("unacked")


def _reset_pools(app) -> None:
    """Close and forget every broker connection (kombu keeps them in global pools), so the next message
    goes to the broker configured now."""
    kombu.pools.reset()
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


@pytest.fixture
def start_worker(django_db_setup, tmp_path):
    """Start workers (`start_worker(**env)`); every one still running is stopped after the test."""
    require_services()
    workers: list[Worker] = []

    def start(**env: str) -> Worker:
        worker = Worker(tmp_path / f"worker-{len(workers) + 1}.log", **env)
        workers.append(worker)
        return worker.start()

    yield start
    for worker in workers:
        worker.stop()


# --- the data: an approved feature, a shipper's token, the endpoint ---------------------------------------


@pytest.fixture
def approve_feature(administrator, team):
    """An approved feature declaring `signals`, read by identity reco-reader, sent to reco-ranker."""
    from features.choices import DestinationKind, FeatureStatus, RegistrationStatus
    from features.models import DeclaredDestination, DeclaredIdentity, DeclaredSignal
    from tests.factories import FeatureFactory, RegistrationFactory, ServiceIdentityFactory, SignalFactory

    identity = ServiceIdentityFactory(name="reco-reader", team=team)

    def approve(key: str, signals=("locale",)):
        feature = FeatureFactory(key=key, team=team)
        registration = RegistrationFactory(
            feature=feature,
            status=RegistrationStatus.APPROVED,
            requested_tier=1,
            approved_tier=1,
            approved_at=timezone.now() - datetime.timedelta(days=1),
        )
        declared = [SignalFactory(key=name) for name in signals]
        for position, signal_row in enumerate(declared):
            DeclaredSignal.objects.create(registration=registration, signal=signal_row, position=position)
        DeclaredIdentity.objects.create(registration=registration, identity=identity, position=0)
        destination = DeclaredDestination.objects.create(
            registration=registration, name="reco-ranker", kind=DestinationKind.RANKING, position=0
        )
        destination.signals.set(declared)
        feature.approved_registration = registration
        feature.status = FeatureStatus.APPROVED
        feature.save(update_fields=["approved_registration", "status", "updated_at"])
        return feature

    return approve


@pytest.fixture
def shipper_token(administrator) -> str:
    issued = token_issue(
        actor=administrator,
        name="reco-otel-collector",
        scopes=[TokenScope.OBSERVATIONS_WRITE],
        teams=[],
        expires_in_days=30,
    )
    return issued.plaintext


def observation(feature: str, signal: str, count: int = 1) -> dict:
    return {
        "feature": feature,
        "service_identity": "reco-reader",
        "signal": signal,
        "destination": "reco-ranker",
        "environment": "production",
        "observed_at": (timezone.now() - datetime.timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
        "count": count,
    }


@pytest.fixture
def send(live_server, shipper_token):
    """POST a batch to the real endpoint (`send(items, key=None)`); returns the JSON answer."""

    def post(items: list[dict], key: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {shipper_token}", "Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        response = requests.post(
            f"{live_server.url}/api/v1/observations", data=orjson.dumps(items), headers=headers, timeout=10
        )
        assert response.status_code == 200, response.text
        return response.json()

    return post


# --- the database seen from outside the test's connection ---------------------------------------------------


def separate_session(*, autocommit: bool) -> psycopg.Connection:
    """A session of the test database beside Django's connection (closing it ends its locks)."""
    db = connection.settings_dict
    return psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        autocommit=autocommit,
    )


@contextmanager
def evaluation_lock_held():
    """Hold drift evaluation's advisory lock from a separate session: an evaluation that starts now has
    claimed its keys and then waits (or, with a lock_timeout, fails) inside its transaction. Yields the
    session; leaving the block closes it, which releases the lock."""
    with separate_session(autocommit=True) as session:
        session.execute("SELECT pg_advisory_lock(%s)", [EVALUATION_LOCK_KEY])
        yield session


def evaluation_lock_waiter(session) -> int | None:
    """The server pid of a session waiting for the evaluation lock in this database, if any."""
    row = session.execute(
        """
        SELECT pid FROM pg_locks
        WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND ((classid::bigint << 32) | objid::bigint) = %s
        """,
        [EVALUATION_LOCK_KEY],
    ).fetchone()
    return row[0] if row else None


def edge_counts() -> dict[tuple[str, str], int]:
    from governance.drift.models import ObservedEdge

    return {(edge.feature_key, edge.signal): edge.count for edge in ObservedEdge.objects.all()}


def day_counts() -> dict[tuple[str, str], int]:
    from django.db.models import Sum

    from governance.drift.models import ObservedDay

    rows = ObservedDay.objects.values("edge__feature_key", "edge__signal").annotate(total=Sum("count"))
    return {(row["edge__feature_key"], row["edge__signal"]): row["total"] for row in rows}
