"""API token authentication for Django REST Framework views.

A view says which scope writes need with a `required_scope` attribute (e.g. "registrations:write") and,
if reading needs one too, a `read_scope` (e.g. "evidence:read"); a view without one accepts any live
token for that method. Object-level rules (teams, roles, segregation of duties) stay in the domain.
`request.user` is the person who issued the token and `request.auth` the token itself, so a view can
cut what it does to `token_team_ids(request.auth)`. The token may come from the process's short memory
of live tokens (see `governance.accounts.tokens`); the person is loaded afresh on every request, so a
role changed or an account deactivated counts at once here.
"""

from __future__ import annotations

import copy

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import SAFE_METHODS

from governance.accounts.models import User
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
        issuer = User.objects.filter(pk=token.created_by_id, is_active=True).first()
        if issuer is None:
            raise AuthenticationFailed(
                f"The token {token.prefix} was issued by a deactivated account; issue a new one."
            )
        token = copy.copy(token)  # the remembered token is shared by this process's requests
        token.created_by = issuer
        return issuer, token

    def authenticate_header(self, request) -> str:
        return self.keyword
