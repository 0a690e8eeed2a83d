"""Every route the URL resolver knows, visited as someone it answers, carries the headers the strict policy
promises (tests/security/headers.py): `Cache-Control: no-store` on every response, and on every page a
Content-Security-Policy with a per-request nonce, no inline script, `object-src`, `base-uri` and
`frame-ancestors` 'none'.

The routes and their concrete URLs come from the permission walks' tables (tests/test_permissions.py for
pages, tests/api/test_api_walk.py for api/v1/: see test_api_headers.py), so a new route is walked here as
soon as it has its row there. Production-only headers (HSTS, the HTTPS redirect, secure cookies) are
checked in a subprocess running the production settings, as is `check --deploy`.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.test_api_walk import VISITS as API_VISITS
from tests.permissions import ROLES, known_routes
from tests.security.headers import header_nonce, is_html, kind_of, problems_of

# The permission walk's table and the fixtures that build the objects its URLs name.
from tests.test_permissions import (  # noqa: F401 (fixtures)
    IN_REVIEW,
    URL_OBJECTS,
    VISITS,
    api_token,
    evidence_pack,
    feature,
    finding,
)

ROOT = Path(__file__).resolve().parents[2]
PAGE_ROUTES = sorted({visit.route for visit in VISITS if not visit.route.startswith("api/v1/")})


def representative(route: str, visits, ways_in) -> tuple:
    """The visit and the way in to check a route with: a GET someone gets 200 for; else whatever someone
    succeeds with (a form's redirect); else the first refusal (a machine endpoint a session cannot use)."""
    rows = [visit for visit in visits if visit.route == route]

    def first(predicate, ways_in):
        for visit in sorted(rows, key=lambda v: v.method != "get"):
            for way_in in ways_in:
                if predicate(visit, visit.expected[way_in]):
                    return visit, way_in
        return None

    public_first = ["anonymous", *(way_in for way_in in ways_in if way_in != "anonymous")]
    signed_in = public_first[1:]
    return (
        first(lambda visit, status: visit.method == "get" and status == 200, public_first)
        or first(lambda visit, status: 200 <= status < 400, signed_in)
        or (rows[0], signed_in[0])
    )


def test_the_walks_cover_every_route_the_resolver_knows():
    assert known_routes() - set(PAGE_ROUTES) - {visit.route for visit in API_VISITS} == set()


@pytest.mark.parametrize("route", PAGE_ROUTES)
def test_every_page_route_sends_the_security_headers(request, client, people, feature, walked, route):  # noqa: F811
    visit, role = representative(route, VISITS, ROLES)
    walked(route, False)
    if people[role] is not None:
        client.force_login(people[role])
    needed = {name: request.getfixturevalue(name).pk for name in URL_OBJECTS if f"{{{name}}}" in visit.url}
    if IN_REVIEW in visit.url:
        request.getfixturevalue("finding")
    response = getattr(client, visit.method)(visit.url.format(**needed), data=visit.data or {})
    assert response.status_code == visit.expected[role], f"{role} {visit.method.upper()} {visit.url}"
    assert problems_of(response) == [], f"{role} {visit.method.upper()} {visit.url}"
    walked(route, True, kind_of(response))


def test_the_nonce_is_new_for_every_request_and_is_the_one_the_scripts_carry(client, owner):
    client.force_login(owner)
    first, second = client.get("/features/"), client.get("/features/")
    assert is_html(first)
    assert header_nonce(first) and header_nonce(second)
    assert header_nonce(first) != header_nonce(second)
    assert f'nonce="{header_nonce(first)}"' in first.text  # htmx's script tag, from base.html


def test_a_page_without_scripts_still_names_a_nonce(client):
    response = client.get("/login/")
    assert header_nonce(response) is not None


def test_the_redoc_page_relaxes_styles_only(client, owner):
    client.force_login(owner)
    response = client.get("/api/v1/redoc")
    assert "'unsafe-inline'" in response["Content-Security-Policy"]  # style-src, for ReDoc's styled-components
    assert problems_of(response) == []  # and so no script directive allows it


def test_static_files_may_be_cached(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


# --- production settings, in a subprocess -------------------------------------------------------------------


def production_env(tmp_path) -> dict[str, str]:
    """APP_ENV=production with what it requires: a real SECRET_KEY, DEBUG off, a host name. The rest are
    production's defaults (anything in this environment that would change them is dropped)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SECURE_", "SESSION_", "CSRF_", "EMAIL_", "GOVERNANCE_"))
        and name not in ("DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")
        and name != "DJANGO_ALLOW_ASYNC_UNSAFE"  # a test convenience, never a deployment's
    }
    return env | {
        "DJANGO_SETTINGS_MODULE": "governance.settings",
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "governance.example.com",
        "DATA_DIR": str(tmp_path),
    }


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603


def test_production_settings_pass_the_deploy_check(tmp_path, figure):
    command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    result = run(command, production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    figure("manage.py check --deploy --fail-level WARNING under APP_ENV=production: no issues")


# Run by the production process: static files collected (as a deployment does), then two requests.
PRODUCTION_REQUESTS = """
import json, django
django.setup()
from django.core.management import call_command
from django.test import Client
call_command("collectstatic", interactive=False, verbosity=0)
client = Client(HTTP_HOST="governance.example.com")
plain = client.get("/login/")
secure = client.get("/login/", secure=True)
print(json.dumps({
    "plain": {"status": plain.status_code, "location": plain.get("Location")},
    "secure": {
        "status": secure.status_code,
        "headers": dict(secure.headers),
        "cookies": {name: {"secure": bool(c["secure"]), "httponly": bool(c["httponly"])}
                    for name, c in secure.cookies.items()},
        "body": secure.text,
    },
}))
"""


def test_production_responses_carry_hsts_and_the_strict_policy(tmp_path, figure):
    result = run([sys.executable, "-c", PRODUCTION_REQUESTS], production_env(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert answers["plain"] == {"status": 301, "location": "https://governance.example.com/login/"}
    secure = answers["secure"]
    assert secure["status"] == 200
    hsts = dict(part.strip().partition("=")[::2] for part in secure["headers"]["Strict-Transport-Security"].split(";"))
    assert int(hsts["max-age"]) >= 365 * 24 * 3600
    assert {"includeSubDomains", "preload"} <= set(hsts)
    assert secure["cookies"]["csrftoken"]["secure"] is True

    class Answer(dict):  # what problems_of reads: headers by name, and the body
        content = secure["body"].encode()

    assert problems_of(Answer(secure["headers"])) == []
    figure(
        f"production: HSTS max-age={hsts['max-age']} s (≥ 1 year) with includeSubDomains and preload; "
        "http → 301 https; CSRF cookie Secure; strict CSP with nonce; no-store"
    )
