"""Denied access, logged: who tried what, when, from where, and what they were told.

Every answer that refuses someone is one line on the `governance.access` logger:

- 401 (no or bad credentials) and 403 (the role may not),
- 404 (nothing there *that you may see*: an owner asking for another team's feature is told "not found" by
  design, so a 404 is logged whether the object is hidden or absent — both look alike to the caller, and
  a run of them is what enumeration looks like),
- a visitor sent to a login page first (`?next=` names what they asked for): not signed in, or, for the
  admin site, signed in as someone who is not staff.

The line carries the person (or "anonymous"), the API token's prefix when one was used (never the
secret), the method, the path, the status, the client address and the time. Nothing of the request body
or the query string is logged: either may hold what was refused for being a secret.

The hash-chained audit trail is for changes; these are reads and refusals, which an anonymous caller can
produce at will, so they go to the log (shipped to the SIEM) rather than into the chain.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

logger = logging.getLogger("governance.access")

REFUSALS = {401: "not authenticated", 403: "forbidden", 404: "not found or not yours"}


def _login_paths() -> set[str]:
    paths = {reverse(settings.LOGIN_URL) if not settings.LOGIN_URL.startswith("/") else settings.LOGIN_URL}
    paths.add(reverse("admin:login"))
    return paths


def refusal_of(request, response) -> str | None:
    """What the response refused, in words, or None when it refused nothing."""
    if response.status_code in REFUSALS:
        return REFUSALS[response.status_code]
    if response.status_code == 302:
        location = urlsplit(response.get("Location", ""))
        if location.path in _login_paths() and "next=" in location.query:
            return "sent to sign in"
    return None


def _caller(request, response) -> tuple[str | None, str | None]:
    """(username, token prefix) of who asked: Django's user, or the one an API view authenticated."""
    api_request = (getattr(response, "renderer_context", None) or {}).get("request")
    user = getattr(api_request, "_user", None) if api_request is not None else None
    token = getattr(api_request, "_auth", None) if api_request is not None else None
    token = token or getattr(request, "api_token", None)
    if user is None:
        user = getattr(request, "user", None)
    username = user.get_username() if user is not None and user.is_authenticated else None
    return username, getattr(token, "prefix", None)


def printable(text: str) -> str:
    """The text with control characters escaped, so that a path cannot forge a second log line."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def log_refusal(request, response, refusal: str) -> None:
    username, token_prefix = _caller(request, response)
    path = printable(request.path)
    logger.warning(
        "access denied: %s %s -> %s (%s) by %s%s from %s at %s",
        request.method,
        path,
        response.status_code,
        refusal,
        username or "anonymous",
        f" with token {token_prefix}" if token_prefix else "",
        request.META.get("REMOTE_ADDR", "unknown"),
        timezone.now().isoformat(timespec="seconds"),
        extra={
            "access_user": username,
            "access_token": token_prefix,
            "access_method": request.method,
            "access_path": path,
            "access_status": response.status_code,
            "access_refusal": refusal,
            "access_address": request.META.get("REMOTE_ADDR"),
        },
    )


class DeniedAccessLog:
    """Middleware: one log line per refused request (see the module's docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        refusal = refusal_of(request, response)
        if refusal:
            log_refusal(request, response, refusal)
        return response
