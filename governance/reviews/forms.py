from django import forms

from features.models import Outcome


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(choices=Outcome.choices, widget=forms.RadioSelect)
    tier = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Approved tier")
    conditions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Conditions the owner must keep to, e.g. no use outside the EU.",
    )
    expires_on = forms.DateField(
        required=False,
        label="Re-review by",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave blank for the tier's default review period.",
    )
    comment = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when requesting changes or rejecting.",
    )

    def __init__(self, *args, requested_tier: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tier"].choices = [("", "—")] + [(t, f"Tier {t}") for t in range(requested_tier, -1, -1)]
        self.fields["tier"].initial = requested_tier


class AcceptFindingForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Accepted until")
