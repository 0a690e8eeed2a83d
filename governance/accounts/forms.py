"""The form that asks for an API token.

It only collects and redisplays what was chosen; `token_issue` judges it (the scopes, the lifetime, the
owner's teams), so its errors are the ones put next to the fields.
"""

from __future__ import annotations

from django import forms

from governance.accounts.models import Team, TokenScope
from governance.accounts.tokens import max_lifetime_days


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
        choices=TokenScope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[TokenScope.OBSERVATIONS_WRITE],
        help_text="Only what the machine needs.",
    )
    teams = TeamsField(required=False)
    expires_in_days = forms.IntegerField(label="Expires in (days)")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        offered = Team.objects.all() if user.is_administrator else user.teams.all()
        self.fields["teams"].choices = [(team.slug, team.name) for team in offered]
        self.fields["teams"].help_text = (
            "Leave empty for a token that may act for any team." if user.is_administrator else "One or more of yours."
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
