"""The page benchmark (tests/load/benchmark_pages.py), run short: gunicorn on PostgreSQL under wrk, the
feature list at 10,000 features and the review queue next to the plain page.

What this asserts is what must hold on any machine: the seed is what the figures claim, every page
answers 200 with its real content (the count it shows, a full page of rows), not one error answer or socket error
under load, and the ratio figure is produced. The 3× target itself is the benchmark's verdict (its exit
status and PASS/FAIL line), measured against the plain page in the same run, not this test's: a timing
on a shared CI machine is no pass/fail condition. The test only refuses a page that costs the server ten
times the plain page's CPU per request — no noise explains that (CPU per request hardly moves with what
else the machine runs, unlike req/s), a lost index or a query per row does.
"""

import json
import subprocess
import sys

import pytest
from django.db import connection

from tests.load.benchmark_pages import EXIT_INVALID, ROOT
from tests.load.wrk import wrk_path
from tests.services import skip_or_fail

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="gunicorn serves PostgreSQL in the benchmark"),
]

FEATURES = 10_000
SANITY_RATIO = 10.0


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    if wrk_path() is None:
        skip_or_fail("the page load test needs wrk (apt-get install wrk)")
    out = tmp_path_factory.mktemp("load") / "figures.json"
    command = [sys.executable, "-m", "tests.load.benchmark_pages", "--features", str(FEATURES)]
    command += ["--seconds", "5", "--warmup", "1", "--rounds", "1", "--connections", "8", "--workers", "2"]
    command += ["--json", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)  # noqa: S603
    print(done.stdout)  # the benchmark's table, shown with -s or when the test fails
    assert done.returncode != EXIT_INVALID, done.stdout + done.stderr
    assert done.returncode in (0, 1), done.stdout + done.stderr  # 1: a target missed, the figures stand
    return json.loads(out.read_text())


def test_pages_at_10000_features_answer_under_load_without_an_error(figures):
    seed = figures["seed"]
    assert (seed["features"], seed["owner_features"], seed["in_review"]) == (10_000, 6_000, 2_000)
    pages = {page["name"].split(" (")[0]: page for page in figures["pages"]}
    assert list(pages) == ["plain page", "feature list, reviewer", "feature list, owner", "review queue"]

    assert figures["errors"] == 0
    for name, page in pages.items():
        assert page["requests"] > 0, name
        assert page["statuses"] == {"200": page["requests"]}, name  # every answer a 200 with the page's text
        assert page["errors"] == 0, name
        assert page["bytes"] > 5_000, name  # a page of rows (counted by the benchmark before the load)
        assert page["p50_ms"] <= page["p99_ms"], name


def test_the_ratio_to_the_plain_page_is_reported_for_every_page(figures):
    assert figures["ratio_target"] == 3.0
    plain, *pages = figures["pages"]
    assert plain["ratio"] == 1.0
    for page in pages:
        assert page["ratio"] == pytest.approx(plain["requests_per_second"] / page["requests_per_second"], rel=0.01)
        assert page["passed"] is (page["ratio"] <= 3.0)
        if page["cpu_ratio"] is not None:  # None only where /proc cannot be read
            assert page["cpu_ratio"] < SANITY_RATIO, page
