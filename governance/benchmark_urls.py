"""The URLconf of the page benchmark (tests/load/benchmark_pages.py): every route of the app, plus one
plain page to measure the pages against. Never the production URLconf (`governance.urls`), so neither
the app nor its permission walk knows the plain page exists.

The plain page is the floor a page of the app cannot go under: the same middleware (session, signed-in
user, CSRF, CSP…), the same base template, and a table of 50 rows, but built in memory — no query beyond
reading the session and its user.
"""

from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from governance.urls import urlpatterns as app_urlpatterns

PLAIN_PATH = "benchmark/plain/"
PLAIN_ROWS = 50


@require_GET
def plain_page(request):
    rows = [
        {"number": n, "key": f"plain-row-{n:03d}", "name": f"Plain row {n:03d}", "team": "Benchmark", "tier": n % 4}
        for n in range(1, PLAIN_ROWS + 1)
    ]
    return render(request, "benchmark/plain.html", {"rows": rows, "count": PLAIN_ROWS})


urlpatterns = [path(PLAIN_PATH, plain_page, name="benchmark-plain"), *app_urlpatterns]
