"""The form that asks for an evidence pack.

It collects the scope and the date; `evidence_request` judges them (does the team or feature exist, is
the date in the past), so the refusal reads the same from the page, the API and the shell.
"""

from __future__ import annotations

from django import forms
from django.utils import timezone

from governance.evidence.models import ScopeKind
from governance.evidence.pack import PackScope
from governance.evidence.selectors import exportable_teams


class EvidenceRequestForm(forms.Form):
    scope = forms.ChoiceField(
        label="What to export",
        choices=[
            (ScopeKind.REGISTRY, "The whole registry"),
            (ScopeKind.TEAM, "One team"),
            (ScopeKind.FEATURE, "One feature"),
        ],
        initial=ScopeKind.REGISTRY,
        widget=forms.RadioSelect,
    )
    team = forms.CharField(required=False, widget=forms.Select, help_text="For a team's pack.")
    feature = forms.CharField(
        required=False,
        max_length=80,
        label="Feature key",
        widget=forms.TextInput(attrs={"list": "feature-keys", "autocomplete": "off", "spellcheck": "false"}),
        help_text="For one feature's pack, e.g. reco-locale.",
    )
    as_of = forms.DateField(
        required=False,
        label="As of",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Leave empty for now; a past day shows the registry as it stood at the end of that day.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].widget.choices = [("", "Choose a team"), *exportable_teams()]
        self.fields["as_of"].widget.attrs["max"] = timezone.localdate().isoformat()

    def pack_scope(self) -> PackScope:
        kind = self.cleaned_data["scope"]
        key = {ScopeKind.TEAM: self.cleaned_data["team"], ScopeKind.FEATURE: self.cleaned_data["feature"]}.get(kind)
        return PackScope(kind=kind, key=(key or "").strip() or None)
