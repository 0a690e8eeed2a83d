"""The permission walk: every route × every role → the status a person of that role gets.

A concrete test declares the table; `walk` runs it. `routes_missing_from` compares the table with what
the URL resolver knows, so a new route without a row fails the suite.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

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
