"""Where a request comes from: the one answer the login lockout and the API throttle share.

The client is `REMOTE_ADDR` unless `settings.TRUSTED_PROXY_COUNT` (env `GOVERNANCE_TRUSTED_PROXIES`) says
how many proxies of ours stand in front of the app. Each of them appends the address it received the
request from to `X-Forwarded-For`, so the client is that many entries from the right; anything further
left was written by the client and proves nothing. With no trusted proxy the header is ignored: otherwise
rotating it would hand an attacker a fresh address, and a fresh lockout and rate budget, per request.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings

UNKNOWN = "unknown"  # a request without REMOTE_ADDR (a test client's bare HttpRequest)


def _valid(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def client_address(request) -> str:
    """The client's IP address as our own proxies saw it (normalised), or `UNKNOWN`."""
    remote = _valid(request.META.get("REMOTE_ADDR", "")) or UNKNOWN
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies <= 0:
        return remote
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < proxies:
        # Fewer hops than proxies: the request did not come through all of them. Trust only the socket.
        return remote
    return _valid(hops[-proxies]) or remote


def client_network(request) -> str:
    """`client_address`, with an IPv6 client widened to its /64: one host holds a whole /64, and must not
    get a fresh budget per address in it."""
    address = client_address(request)
    if ":" in address:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return address
