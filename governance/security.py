"""Response headers beyond Django's own security middleware, for every response a view produces.

- `Cache-Control: no-store` (with Django's full never-cache set) unless the view chose its caching
  itself: every page here is either behind a login or the login page, and every API answer carries
  registry data, so no browser or shared cache may keep a copy. Static files never get here: WhiteNoise
  answers them first, with its own caching.
- A CSP nonce on every HTML response: Django's CSP middleware only names a nonce in the header once
  something asked for it; asking here makes the header's shape the same on every page, whether or not
  its template has a script.

It sits just after `ContentSecurityPolicyMiddleware` in `MIDDLEWARE`, so it sees each response before
that middleware writes the header.
"""

from __future__ import annotations

from django.middleware.csp import get_nonce
from django.utils.cache import add_never_cache_headers


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Cache-Control" not in response:
            add_never_cache_headers(response)
        nonce = get_nonce(request)
        if nonce is not None and response.get("Content-Type", "").startswith("text/html"):
            str(nonce)  # generated now if the page did not ask for it
        return response
