"""The permission walk: every route × every role → the status a person of that role gets.

A concrete test declares the table; `walk` runs it. `routes_missing_from` compares the table with what
the URL resolver knows, so a new route without a row fails the suite.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from django.urls import URLPattern, URLResolver, get_resolver

from governance.audit.denials import printable

ROLES = ("owner", "other_owner", "reviewer", "auditor", "administrator", "anonymous")


@dataclass(frozen=True)
class Visit:
    route: str  # the route as the resolver spells it, e.g. "features/<slug:key>/edit/"
    method: str
    url: str  # the concrete URL visited
    expected: dict[str, int]
    data: dict | None = None


def expect(default: int, **by_role: int) -> dict[str, int]:
    return {role: by_role.get(role, default) for role in ROLES}


def known_routes(ignore_namespaces=("admin",)) -> set[str]:
    """Every route the resolver knows, as a joined pattern string (admin's own pages aside)."""
    found: set[str] = set()

    def visit(patterns, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace in ignore_namespaces:
                    continue
                visit(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                found.add(prefix + str(pattern.pattern))

    visit(get_resolver().url_patterns, "")
    return found


def routes_missing_from(visits: list[Visit]) -> set[str]:
    return known_routes() - {visit.route for visit in visits}


# --- denied attempts are logged -------------------------------------------------------------------------
ACCESS_LOGGER = "governance.access"
REFUSED = (401, 403, 404)
# Tallied over a run and printed at its end (tests/conftest.py): the README's access-control figures.
WALK_FIGURES: dict[str, int] = {"cells": 0, "denials": 0, "denials logged": 0, "other lines": 0}


def is_denial(response) -> bool:
    """A refusal: 401/403/404, or a visitor sent to log in first."""
    if response.status_code in REFUSED:
        return True
    location = response.get("Location", "") if response.status_code == 302 else ""
    return "login/" in location and "next=" in location


def assert_denial_logged(records, response, *, url: str, username: str | None) -> None:
    """Exactly one `governance.access` line for a denial, naming who, what and where; none otherwise.

    `username`: who the request acts for: the signed-in person, a bearer token's holder, None for nobody."""
    path = printable(unquote(urlsplit(url).path))
    lines = [record for record in records if record.name == ACCESS_LOGGER]
    denied = is_denial(response)
    WALK_FIGURES["cells"] += 1
    WALK_FIGURES["denials"] += denied
    WALK_FIGURES["denials logged"] += denied and len(lines) == 1
    WALK_FIGURES["other lines"] += (not denied) and len(lines)
    assert len(lines) == (1 if denied else 0), [line.getMessage() for line in lines]
    if denied:
        line = lines[0]
        assert (line.access_path, line.access_status, line.access_user) == (path, response.status_code, username)
        assert line.access_address == "127.0.0.1" and line.created  # where and when
