"""API token authentication for Django REST Framework views.

A view says which scope writes need with a `required_scope` attribute (e.g. "registrations:write") and,
if reading needs one too, a `read_scope` (e.g. "evidence:read"); a view without one accepts any live
token for that method. Object-level rules (teams, roles, segregation of duties) stay in the domain.
`request.user` is the person who issued the token and `request.auth` the token itself, so a view can
cut what it does to `token_team_ids(request.auth)`.
"""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import SAFE_METHODS

from governance.accounts.tokens import TokenInvalid, token_authenticate, token_lookup


class ApiTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer pgv_…`; a refused token is a 401 whose body says why."""

    keyword = "Bearer"

    def authenticate(self, request):
        scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None  # not ours: let the next authentication class try
        view = request.parser_context.get("view") if request.parser_context else None
        scope = getattr(view, "read_scope" if request.method in SAFE_METHODS else "required_scope", None)
        try:
            token = token_authenticate(raw.strip(), scope=scope) if scope else token_lookup(raw.strip())
        except TokenInvalid as refused:
            raise AuthenticationFailed(str(refused)) from None
        return token.created_by, token

    def authenticate_header(self, request) -> str:
        return self.keyword
