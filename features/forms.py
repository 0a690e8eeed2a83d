"""The registration form: one page with the narrative fields and three growable lists of rows.

The forms here only collect and redisplay what was typed; every rule lives in `features.validation`,
so the browser, the API and declaration files are judged alike. Errors come back keyed by path
(`signals.1.retention_days`) and are put next to the field they name.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.forms import formset_factory

from features.choices import (
    AccessMode,
    ConsentBasis,
    DestinationKind,
    HighTrustDomain,
    SignalOrigin,
    Tier,
)
from features.declaration import Declaration, parse_declaration
from features.models import ServiceIdentity, Signal


def _select(choices, blank: str | None = None):
    options = list(choices)
    if blank is not None:
        options = [("", blank), *options]
    return forms.Select(choices=options)


class ListField(forms.Field):
    """A multiple select whose value is passed on as a list; the domain judges its contents."""

    widget = forms.SelectMultiple


class FeatureForm(forms.Form):
    key = forms.CharField(required=False, max_length=80, help_text="Stable identifier, e.g. product-recommendations.")
    name = forms.CharField(required=False, max_length=160)
    team = forms.CharField(required=False)

    def __init__(self, *args, teams=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].widget = _select([(team.slug, team.name) for team in teams])


class RegistrationForm(forms.Form):
    explanation = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One sentence a user would understand, without naming backend systems.",
    )
    purpose = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    requested_tier = forms.CharField(required=False, widget=_select(Tier.choices), initial=Tier.BASIC)
    consent_basis = forms.CharField(required=False, widget=_select(ConsentBasis.choices, blank="Choose…"))
    consent_mechanism = forms.CharField(
        required=False, help_text="Where consent is collected or documented (a link or a reference)."
    )
    retention_days = forms.CharField(required=False, widget=forms.NumberInput(attrs={"min": 1}))
    opt_out = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="How a user opts out, and how the feature is switched off.",
    )
    high_trust_domain = forms.CharField(required=False, widget=_select(HighTrustDomain.choices))
    necessity_justification = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required for tier 3: why the feature cannot work without these signals.",
    )


class SignalRowForm(forms.Form):
    signal = forms.CharField(required=False)
    origin = forms.CharField(required=False, widget=_select(SignalOrigin.choices))
    justification = forms.CharField(required=False)
    retention_days = forms.CharField(required=False, widget=forms.NumberInput(attrs={"min": 1}))

    def __init__(self, *args, signals=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["signal"].widget = _select(
            [(s.key, f"{s.key} ({s.get_sensitivity_display().lower()})") for s in signals], blank="Choose…"
        )


class IdentityRowForm(forms.Form):
    identity = forms.CharField(required=False)
    scopes = forms.CharField(required=False, help_text="Comma-separated, e.g. orders:read")
    access = forms.CharField(required=False, widget=_select(AccessMode.choices))

    def __init__(self, *args, identities=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["identity"].widget = _select([(i.name, i.name) for i in identities], blank="Choose…")


class DestinationRowForm(forms.Form):
    name = forms.CharField(required=False, help_text="The downstream system, e.g. reco-ranker")
    kind = forms.CharField(required=False, widget=_select(DestinationKind.choices, blank="Choose…"))
    signals = ListField(required=False)
    controls_before = forms.BooleanField(required=False, label="Consent and retention applied before the data arrives")

    def __init__(self, *args, signals=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["signals"].widget = forms.SelectMultiple(choices=[(s.key, s.key) for s in signals])


@dataclass
class RowSection:
    """One growable list of rows on the page (signals, identities or destinations)."""

    name: str
    title: str
    row_label: str
    formset: forms.BaseFormSet

    @property
    def add_label(self) -> str:
        return f"Add a {self.row_label.lower()}"


SECTIONS = {
    "signals": ("Declared signals", "Signal", SignalRowForm),
    "identities": ("Service identities", "Service identity", IdentityRowForm),
    "destinations": ("Destinations", "Destination", DestinationRowForm),
}


def _row_values(form: forms.Form) -> dict:
    return {name: form[name].value() for name in form.fields}


class RegistrationEditor:
    """The whole registration page's inputs: the narrative form plus the three row sections."""

    def __init__(self, data=None, *, declaration: Declaration | None = None):
        signals = list(Signal.objects.order_by("key"))
        identities = list(ServiceIdentity.objects.order_by("name"))
        self._row_kwargs = {
            "signals": {"signals": signals},
            "identities": {"identities": identities},
            "destinations": {"signals": signals},
        }
        if data is not None:
            self.form = RegistrationForm(data)
            self.sections = {name: self._section(name, data=data) for name in SECTIONS}
        else:
            initial = (declaration or Declaration()).as_dict()
            for row in initial["identities"]:
                row["scopes"] = ", ".join(row["scopes"])
            self.form = RegistrationForm(initial=initial)
            self.sections = {name: self._section(name, initial=initial[name]) for name in SECTIONS}

    def _section(self, name: str, *, data=None, initial=None) -> RowSection:
        title, row_label, form_class = SECTIONS[name]
        formset_class = formset_factory(form_class, extra=0)
        formset = formset_class(data, initial=initial, prefix=name, form_kwargs=self._row_kwargs[name])
        return RowSection(name=name, title=title, row_label=row_label, formset=formset)

    def raw(self) -> dict:
        """What was typed, in the declaration's dict shape."""
        raw = {name: self.form[name].value() for name in self.form.fields}
        for name, section in self.sections.items():
            raw[name] = [_row_values(form) for form in section.formset]
        return raw

    def declaration(self) -> Declaration:
        return parse_declaration(self.raw())

    def change_rows(self, action: str) -> str | None:
        """Apply an `add:<section>` or `remove:<section>:<index>` action; return the section changed."""
        verb, _, rest = action.partition(":")
        name, _, index = rest.partition(":")
        if verb not in {"add", "remove"} or name not in self.sections:
            return None
        rows = [_row_values(form) for form in self.sections[name].formset]
        if verb == "add":
            rows.append({})
        elif index.isdigit() and int(index) < len(rows):
            del rows[int(index)]
        self.sections[name] = self._section(name, initial=rows)
        return name

    def show_errors(self, errors: dict[str, list[str]], *, blank: set[str] = frozenset()) -> list[str]:
        """Attach each error to its field; blank the values in `blank` (secrets are never echoed).

        Returns the messages that belong to no field on this page.
        """
        unplaced = []
        self.form.full_clean()
        for path, messages in errors.items():
            parts = path.split(".")
            target = None
            if len(parts) == 1 and parts[0] in self.form.fields:
                target, field = self.form, parts[0]
            elif len(parts) == 3 and parts[0] in self.sections and parts[1].isdigit():
                forms_ = self.sections[parts[0]].formset.forms
                if int(parts[1]) < len(forms_) and parts[2] in forms_[int(parts[1])].fields:
                    target, field = forms_[int(parts[1])], parts[2]
                    target.full_clean()
            elif len(parts) == 1 and parts[0] in self.sections:
                unplaced.extend(f"{self.sections[parts[0]].title}: {m}" for m in messages)
                continue
            if target is None:
                unplaced.extend(messages)
                continue
            for message in messages:
                target.add_error(field, message)
            if path in blank:
                target.data = target.data.copy()
                target.data[target.add_prefix(field)] = ""
        return unplaced
