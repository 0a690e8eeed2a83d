"""API token pages: the list, issuing one (its secret shown once), revoking one.

Every role issues tokens for its own scripts (owners only once they are in a team); administrators see
and revoke every token, everybody else only the ones they issued: anyone else's is a 404, as if it did
not exist.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from governance.accounts.forms import TokenForm
from governance.accounts.models import ApiToken
from governance.accounts.tokens import (
    TokenRequestInvalid,
    can_issue_tokens,
    max_lifetime_days,
    token_issue,
    token_revoke,
    token_status,
)


def _require_token_issuer(user) -> None:
    if not can_issue_tokens(user):
        raise PermissionDenied("Join a team first: an owner's token acts for the owner's teams only.")


def tokens_visible_to(user):
    """Administrators see every token; everybody else the ones they issued."""
    tokens = ApiToken.objects.select_related("created_by", "revoked_by").prefetch_related("teams")
    return tokens if user.is_administrator else tokens.filter(created_by=user)


@require_http_methods(["GET", "HEAD"])
def list_page(request):
    now = timezone.now()
    tokens = list(tokens_visible_to(request.user))
    for token in tokens:
        token.status = token_status(token, now=now)
    context = {
        "tokens": tokens,
        "can_issue": can_issue_tokens(request.user),
        "shows_issuer": request.user.is_administrator,
    }
    return render(request, "accounts/token_list.html", context)


@never_cache  # the success page carries the plaintext: no browser or proxy may keep a copy
@require_http_methods(["GET", "HEAD", "POST"])
def new_page(request):
    _require_token_issuer(request.user)
    form = TokenForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            issued = token_issue(actor=request.user, **form.cleaned_data)
        except TokenRequestInvalid as invalid:
            for field, problems in invalid.errors.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        else:
            # Rendered, not redirected: the plaintext exists only in this response, never in the session,
            # a message or a log line.
            return render(request, "accounts/token_issued.html", {"token": issued.token, "plaintext": issued.plaintext})
    context = {"form": form, "max_days": max_lifetime_days()}
    return render(request, "accounts/token_form.html", context)


@require_POST
def revoke(request, pk: int):
    token = get_object_or_404(tokens_visible_to(request.user), pk=pk)
    if token.revoked_at is not None:
        messages.info(request, f"{token} was already revoked.")
    else:
        token_revoke(actor=request.user, token=token)
        messages.success(request, f"{token} is revoked: machines using it now get 401.")
    return redirect("tokens:list")
