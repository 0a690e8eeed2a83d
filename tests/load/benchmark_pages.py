"""Page load under gunicorn and wrk on PostgreSQL: the feature list at 10,000 features and the review queue,
next to a plain page in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/governance .venv/bin/python -m tests.load.benchmark_pages

It creates its own database beside the one DATABASE_URL names (`<name>_pages`; that one is never touched),
migrates it, seeds it with bulk inserts (tests/load/seed.py), starts gunicorn on it (DEBUG off, static
files by WhiteNoise) with the benchmark URLconf (`governance.benchmark_urls`: the app's routes plus the
plain page of 50 rows), signs in a reviewer and an owner, checks every page answers 200 with its content
(the count it shows, a full page of rows: the app's 25 unless `--per-page`), then runs wrk against each
page in turn, `--rounds` times, alternating. It prints req/s and
p50/p99 latency of each page's best round, errors over all rounds, and the plain page's req/s divided by
each page's: PASS within RATIO_TARGET. Beside it, the server's CPU per request (gunicorn's workers and
their PostgreSQL sessions, from /proc) and its ratio to the plain page's: req/s moves with whatever else
the machine runs, CPU per request hardly does. The database is dropped at the end (unless `--keep`).

Exit status: 0 every target met; 1 a target missed (the figures stand); 2 the run does not count — an
error answer (non-200, socket error, a page without its content) or a setup that is not what it should
be. `--json FILE` also writes the figures (the CI test, tests/load/test_page_load.py, reads them).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
RATIO_TARGET = 3.0
SERVER_SETTINGS = "tests.load.server_settings"
EXIT_PASS, EXIT_MISSED, EXIT_INVALID = 0, 1, 2


class RunInvalid(Exception):
    """The run measured something other than it should: no figure counts."""


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    user: str  # "reviewer" or "owner"
    marker: str  # text every answer must contain: proof it is the page, with the seeded count
    row_marker: str  # text once per table row
    rows: int  # rows the first page shows


@dataclass
class PageResult:
    page: Page
    size: int  # bytes of the page checked before the load
    runs: list = field(default_factory=list)  # WrkRun, one per round
    cpu: list = field(default_factory=list)  # CpuPerBatch per request (None without /proc), one per round

    @property
    def best(self):
        return max(self.runs, key=lambda run: run.requests_per_second)

    @property
    def errors(self) -> int:
        return sum(run.errors for run in self.runs)

    @property
    def server_cpu_ms(self) -> float | None:
        """CPU of gunicorn's workers and their PostgreSQL sessions per request, in the least disturbed
        round: what a request costs the server, whatever else the machine was running meanwhile."""
        measured = [cpu.worker_ms + cpu.postgres_ms for cpu in self.cpu if cpu is not None]
        return round(min(measured), 2) if measured else None


def pages_for(seeded, per_page: int) -> list[Page]:
    from governance.benchmark_urls import PLAIN_PATH, PLAIN_ROWS

    def count_line(count: int, noun: str) -> str:
        return f"{count} {noun} · page 1 of {math.ceil(count / per_page)}"

    return [
        Page(
            "plain page",
            f"/{PLAIN_PATH}",
            "reviewer",
            f"{PLAIN_ROWS} rows from memory",
            'class="plain-row"',
            PLAIN_ROWS,
        ),
        Page(
            f"feature list, reviewer ({seeded.features:,} features)",
            "/features/",
            "reviewer",
            count_line(seeded.features, "features"),
            '<div class="muted mono">feature-',
            min(per_page, seeded.features),
        ),
        Page(
            f"feature list, owner ({seeded.owner_features:,} features)",
            "/features/",
            "owner",
            count_line(seeded.owner_features, "features"),
            '<div class="muted mono">feature-',
            min(per_page, seeded.owner_features),
        ),
        Page(
            f"review queue ({seeded.in_review:,} in review)",
            "/reviews/",
            "reviewer",
            count_line(seeded.in_review, "in review"),
            '<td class="age">',
            min(per_page, seeded.in_review),
        ),
    ]


# --- the database ----------------------------------------------------------------------------------------


def bench_database_name(url: str) -> str:
    return f"{urlsplit(url).path.lstrip('/')}_pages"


def recreate_database(url: str, name: str) -> None:
    import psycopg

    from governance.drift.benchmarks.database import with_database

    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str, name: str) -> None:
    import psycopg

    from governance.drift.benchmarks.database import with_database

    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def session_cookie(user) -> str:
    """A signed-in session for `user`, stored in the benchmark database, as a Cookie header value."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


# --- the run ---------------------------------------------------------------------------------------------


def check_page(port: int, page: Page, cookie: str) -> int:
    """One GET before the load: 200, the page's marker, its table rows; returns the body's size."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", page.path, headers={"Cookie": cookie})
    response = connection.getresponse()
    body = response.read().decode()
    connection.close()
    if response.status != 200:
        raise RunInvalid(f"{page.name}: {page.path} answered {response.status}, not 200.")
    if page.marker not in body:
        raise RunInvalid(f"{page.name}: {page.path} does not say {page.marker!r}.")
    rows = body.count(page.row_marker)
    if rows != page.rows:
        raise RunInvalid(f"{page.name}: {page.path} shows {rows} rows, not {page.rows}.")
    return len(body)


def measure(options, out) -> dict:
    from django.conf import settings

    from governance.drift.benchmarks.database import django_using, migrate, with_database
    from governance.drift.benchmarks.servers import Gunicorn
    from tests.load.seed import seed_registry

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise RunInvalid("DATABASE_URL must name a PostgreSQL database (postgres://user@host:5432/name).")
    name = options.database or bench_database_name(url)
    per_page = options.per_page or settings.GOVERNANCE["FEATURES_PER_PAGE"]  # what the app shows by default
    bench_url = with_database(url, name)
    started = time.monotonic()
    recreate_database(url, name)
    try:
        migrate(bench_url, ROOT)
        with django_using(name):
            seeding = time.monotonic()
            seeded = seed_registry(features=options.features)
            seed_seconds = time.monotonic() - seeding
            if seeded.features != options.features:
                raise RunInvalid(f"The seed holds {seeded.features} features, not {options.features}.")
            out.write(
                f"seed: {seeded.features:,} features ({seeded.owner_features:,} of the owner's team), "
                f"{seeded.registrations:,} versions ({seeded.in_review:,} in review), {seeded.findings:,} findings, "
                f"{seeded.decisions:,} decisions in {seed_seconds:.1f} s\n"
            )
            env = {
                "DATABASE_URL": bench_url,
                "DJANGO_SETTINGS_MODULE": SERVER_SETTINGS,
                "APP_ENV": "development",
                "DEBUG": "0",
                "GOVERNANCE_FEATURES_PER_PAGE": str(per_page),
                "CELERY_BROKER_URL": "",
                "LOG_LEVEL": "WARNING",
            }
            server = Gunicorn(
                "governance.wsgi",
                workers=options.workers,
                threads=options.server_threads,
                env=env,
                cwd=settings.BASE_DIR,
                probe_path="/login/",
            )
            with server:
                results = load_pages(server, pages_for(seeded, per_page), seeded, options)
    finally:
        if not options.keep:
            drop_database(url, name)
    figures = figures_of(results, seeded, seed_seconds, server.settings, options, time.monotonic() - started)
    return figures | {"per_page": per_page}


def load_pages(server, pages: list[Page], seeded, options) -> list[PageResult]:
    """Check every page, warm each up, then `options.rounds` rounds of wrk over all of them in turn."""
    from governance.drift.benchmarks.cpu import CpuMeter
    from tests.load.wrk import run_wrk

    cookies = {"reviewer": session_cookie(seeded.reviewer), "owner": session_cookie(seeded.owner)}
    results = [PageResult(page, size=check_page(server.port, page, cookies[page.user])) for page in pages]
    load = {"connections": options.connections, "threads": options.threads}
    for page in pages:  # imports done, connections open, caches filled: not counted
        run_wrk(url_of(server, page), seconds=options.warmup, cookie=cookies[page.user], marker=page.marker, **load)
    for _round in range(options.rounds):
        for result in results:
            page = result.page
            meter = CpuMeter(server.process.pid)
            run = run_wrk(
                url_of(server, page), seconds=options.seconds, cookie=cookies[page.user], marker=page.marker, **load
            )
            result.runs.append(run)
            result.cpu.append(meter.per_batch(max(1, run.requests)))
    return results


def figures_of(results: list[PageResult], seeded, seed_seconds: float, server: str, options, seconds: float) -> dict:
    plain = results[0]
    figures = {
        "seed": {key: value for key, value in asdict_shallow(seeded).items() if isinstance(value, int)},
        "seed_seconds": round(seed_seconds, 2),
        "server": f"{server}, DEBUG off",
        "load": f"wrk -t{options.threads} -c{options.connections} -d{options.seconds}s, best of {options.rounds}",
        "ratio_target": RATIO_TARGET,
        "pages": [],
        "errors": sum(result.errors for result in results),
        "seconds": round(seconds, 1),
    }
    for result in results:
        best = result.best
        ratio = round(plain.best.requests_per_second / best.requests_per_second, 2)
        cpu_ratio = (
            round(result.server_cpu_ms / plain.server_cpu_ms, 2)
            if result.server_cpu_ms and plain.server_cpu_ms
            else None
        )
        figures["pages"].append(
            {
                "name": result.page.name,
                "path": result.page.path,
                "user": result.page.user,
                "bytes": result.size,
                "requests_per_second": round(best.requests_per_second, 1),
                "p50_ms": best.p50_ms,
                "p99_ms": best.p99_ms,
                "requests": sum(run.requests for run in result.runs),
                "errors": result.errors,
                "statuses": merge_statuses(result.runs),
                "ratio": ratio,
                "passed": ratio <= RATIO_TARGET,
                "server_cpu_ms": result.server_cpu_ms,
                "cpu_ratio": cpu_ratio,
                "rounds": [
                    asdict(run) | {"requests_per_second": round(run.requests_per_second, 1)} | cpu_of(cpu)
                    for run, cpu in zip(result.runs, result.cpu, strict=True)
                ],
            }
        )
    figures["passed"] = figures["errors"] == 0 and all(page["passed"] for page in figures["pages"])
    return figures


def cpu_of(cpu) -> dict:
    if cpu is None:
        return {}
    return {"worker_cpu_ms": round(cpu.worker_ms, 2), "postgres_cpu_ms": round(cpu.postgres_ms, 2)}


def url_of(server, page: Page) -> str:
    return f"http://127.0.0.1:{server.port}{page.path}"


def asdict_shallow(seeded) -> dict:
    return {name: getattr(seeded, name) for name in seeded.__dataclass_fields__}


def merge_statuses(runs) -> dict[str, int]:
    merged: dict[str, int] = {}
    for run in runs:
        for status, count in run.statuses.items():
            merged[str(status)] = merged.get(str(status), 0) + count
    return merged


def report(figures: dict, out) -> None:
    out.write(f"server: {figures['server']}, {figures['per_page']} rows a list page; load: {figures['load']}\n")
    out.write(
        f"  {'page':<42}{'req/s':>7}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}{'ratio':>8}"
        f"{'CPU ms/req':>12}{'CPU ratio':>10}\n"
    )
    for page in figures["pages"]:
        verdict = "" if page["path"] == "/benchmark/plain/" else ("  PASS" if page["passed"] else "  FAIL")
        cpu = f"{page['server_cpu_ms']:>12.1f}{page['cpu_ratio']:>9.2f}×" if page["cpu_ratio"] else f"{'–':>22}"
        out.write(
            f"  {page['name']:<42}{page['requests_per_second']:>7,.0f}{page['p50_ms']:>8.1f}{page['p99_ms']:>8.1f}"
            f"{page['errors']:>7}{page['ratio']:>7.2f}×{cpu}{verdict}\n"
        )
    out.write(
        f"  ratio: plain page req/s ÷ page req/s, best round each (target ≤ {figures['ratio_target']:.0f}×); errors: "
        "non-200 answers, socket errors and 200s without the page's content, all rounds;\n"
        "  CPU ms/req: gunicorn workers + their PostgreSQL sessions per request (least disturbed round), and its "
        "ratio to the plain page's: the steadier figure on a shared machine\n"
    )
    out.write(f"{'PASS' if figures['passed'] else 'FAIL'} in {figures['seconds']:.0f} s\n")


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--features", type=int, default=10_000, help="Features to seed.")
    parser.add_argument("--per-page", type=int, help="Rows a list page shows (default: the app's setting, 25).")
    parser.add_argument("--seconds", type=int, default=15, help="Seconds of load per page and round.")
    parser.add_argument("--warmup", type=int, default=2, help="Seconds of uncounted load per page first.")
    parser.add_argument("--rounds", type=int, default=2, help="Rounds over all pages, alternating; best counts.")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections.")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads.")
    parser.add_argument("--workers", type=int, default=2, help="Gunicorn workers.")
    parser.add_argument("--server-threads", type=int, default=1, help="Threads per gunicorn worker (>1: gthread).")
    parser.add_argument("--database", help="The benchmark's database (default: DATABASE_URL's name + _pages).")
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark's database afterwards.")
    parser.add_argument("--json", type=Path, help="Also write the figures to this file.")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    options = parse_arguments(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
    import django

    django.setup()
    from governance.drift.benchmarks.servers import ServerFailed
    from tests.load.wrk import WrkFailed

    try:
        figures = measure(options, sys.stdout)
    except (RunInvalid, ServerFailed, WrkFailed) as error:
        sys.stdout.write(f"INVALID: {error}\n")
        return EXIT_INVALID
    report(figures, sys.stdout)
    if options.json:
        options.json.write_text(json.dumps(figures, indent=2))
    if figures["errors"]:
        return EXIT_INVALID
    return EXIT_PASS if figures["passed"] else EXIT_MISSED


if __name__ == "__main__":
    sys.exit(main())
