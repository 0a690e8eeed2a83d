"""Rate limits for the REST API: one budget per API token, per person for sessions, per address otherwise.

`ApiRateThrottle` counts requests in fixed windows (e.g. 600 a minute: `REST_FRAMEWORK
["DEFAULT_THROTTLE_RATES"]["api"]`, env `GOVERNANCE_API_THROTTLE_RATE`) in the shared cache, with the
cache's atomic increment: with Redis (`CACHE_URL`) every web process draws on the same budget and two
concurrent requests never both take its last unit. DRF's own `SimpleRateThrottle` reads a history,
appends and writes it back: across processes, concurrent requests overwrite each other's counts.

The budget is keyed on who is asking, never on what the request says about itself: the token's id, the
person's id, or (anonymous) the address from `accounts/addresses.py`, which ignores `X-Forwarded-For`
unless a trusted proxy count says otherwise. A new `X-Forwarded-For` per request buys nothing.

Over the limit: 429 with `Retry-After` (seconds to the window's end) and the API's JSON error body
(`{"code": "throttled", …}`, governance/api/errors.py). Fixed windows allow up to twice the rate across
a window's edge; the price of one atomic counter per request instead of a log of timestamps.

The telemetry endpoints (`/api/v1/observations`, `/v1/traces`) are plain Django views outside DRF and
are not throttled here: shippers post thousands of batches, each bounded in size and item count and
authenticated by a token that can be revoked.
"""

from __future__ import annotations

import logging
import math
import time

from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from governance.accounts.addresses import client_network
from governance.accounts.models import ApiToken

logger = logging.getLogger(__name__)

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """`"600/min"` → (600, 60): requests, seconds. The period is read by its first letter (s, m, h, d)."""
    count, _, period = rate.partition("/")
    return int(count), PERIODS[period.strip()[0].lower()]


def clock() -> float:
    """Seconds since the epoch; tests move it."""
    return time.time()


def requester(request) -> str:
    """Whose budget a request draws on."""
    if isinstance(request.auth, ApiToken):
        return f"token:{request.auth.pk}"
    if request.user is not None and request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return f"address:{client_network(request)}"


class ApiRateThrottle(BaseThrottle):
    scope = "api"

    def __init__(self):
        # Read per request, not at import: a settings change (or a test's override) applies at once.
        self.rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        self.retry_after: float | None = None

    def allow_request(self, request, view) -> bool:
        if not self.rate:
            return True
        limit, period = parse_rate(self.rate)
        now = clock()
        window = int(now // period)
        # The window is in the key: a counter that somehow outlived its timeout still stops counting.
        key = f"throttle:{self.scope}:{requester(request)}:{window}"
        try:
            cache.add(key, 0, timeout=period + 1)
            try:
                used = cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=period + 1)
                used = 1
        except Exception:  # an unreachable cache must not take the API down with it
            logger.exception("The throttle's cache is unreachable: %s is let through uncounted.", request.path)
            return True
        if used <= limit:
            return True
        self.retry_after = (window + 1) * period - now
        return False

    def wait(self) -> float | None:
        return None if self.retry_after is None else max(1, math.ceil(self.retry_after))
