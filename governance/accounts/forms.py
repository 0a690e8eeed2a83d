"""The forms of accounts: logging in (with the lockout's message), and asking for an API token.

The token form only collects and redisplays what was chosen; `token_issue` judges it (the scopes, the
lifetime, the owner's teams), so its errors are the ones put next to the fields.
"""

from __future__ import annotations

import math

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone

from governance.accounts import lockout
from governance.accounts.addresses import client_address
from governance.accounts.models import Team, TokenScope
from governance.accounts.tokens import issuable_scopes, limited_to_own_teams, max_lifetime_days

LOCKED_OUT_MESSAGE = (
    "Too many failed logins for this username from your address. Logins for it are paused here for "
    "%(minutes)s more minute(s); try again then, or ask an administrator to lift it."
)


class LockoutMessageMixin:
    """A refused login names the lockout when there is one (`accounts/backends.py` enforces it). The
    message is the same whatever password was typed: during a lockout, no password is checked."""

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            username = self.cleaned_data.get("username")
            until = username and lockout.locked_until(username=username, address=client_address(self.request))
            if until:
                minutes = max(1, math.ceil((until - timezone.now()).total_seconds() / 60))
                raise forms.ValidationError(
                    LOCKED_OUT_MESSAGE, code="locked_out", params={"minutes": minutes}
                ) from None
            raise


class LoginForm(LockoutMessageMixin, AuthenticationForm):
    """The login page's form."""


class AdminLoginForm(LockoutMessageMixin, AdminAuthenticationForm):
    """The admin's login form: the same lockout, the same message."""


class TeamsField(forms.MultipleChoiceField):
    """Team slugs. Checkboxes offer the person's own teams, but any known team passes the form: whether
    this person may limit a token to it is `token_issue`'s call, so the refusal reads the same everywhere.
    """

    widget = forms.CheckboxSelectMultiple

    def valid_value(self, value) -> bool:
        return True


class TokenForm(forms.Form):
    name = forms.CharField(
        required=False,
        max_length=120,
        help_text="The machine that will use it, e.g. reco-otel-collector.",
    )
    scopes = forms.MultipleChoiceField(
        required=False,
        choices=[],  # the scopes the issuer's role may hold: __init__
        widget=forms.CheckboxSelectMultiple,
        initial=[TokenScope.OBSERVATIONS_WRITE],
        help_text="Only what the machine needs.",
    )
    teams = TeamsField(required=False)
    expires_in_days = forms.IntegerField(label="Expires in (days)")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        scopes = issuable_scopes(user)
        self.fields["scopes"].choices = [(value, label) for value, label in TokenScope.choices if value in scopes]
        own_teams = limited_to_own_teams(user)
        offered = user.teams.all() if own_teams else Team.objects.all()
        self.fields["teams"].choices = [(team.slug, team.name) for team in offered]
        self.fields["teams"].help_text = (
            "One or more of yours." if own_teams else "Leave empty for a token that may act for any team."
        )
        maximum = max_lifetime_days()
        self.fields["expires_in_days"].initial = maximum
        self.fields["expires_in_days"].widget.attrs.update({"min": 1, "max": maximum})
        self.fields["expires_in_days"].help_text = f"At most {maximum} days."

    def clean_teams(self) -> list[Team]:
        slugs = self.cleaned_data["teams"]
        teams = list(Team.objects.filter(slug__in=slugs))
        unknown = sorted(set(slugs) - {team.slug for team in teams})
        if unknown:
            raise forms.ValidationError(f"No team called {', '.join(unknown)}.")
        return teams
