"""Filters of the API lists that have no HTML list of their own (the feature list shares
`features.filtersets.FeatureFilterSet` with its page)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from drf_spectacular.drainage import set_override

from features.api.strict import INT32_MAX, NO_NUL
from features.choices import (
    IdentityKind,
    IdentityStatus,
    RegistrationStatus,
    Sensitivity,
    SignalCategory,
)
from features.models import Finding, FindingSource, FindingStatus, Registration, ServiceIdentity, Signal
from governance.policy.severity import Severity

SEARCH_MAX = 200


def text_schema(max_length: int) -> dict:
    return {"type": "string", "maxLength": max_length, "pattern": NO_NUL}


def text_filter(max_length: int, **kwargs) -> django_filters.CharFilter:
    """A text filter whose documented schema states the limits it enforces."""
    text = django_filters.CharFilter(max_length=max_length, **kwargs)
    set_override(text, "field", text_schema(max_length))
    return text


class WholeNumberFilter(django_filters.NumberFilter):
    """A number filter that takes whole numbers only (django-filter's takes decimals)."""

    field_class = forms.IntegerField


def whole_number_filter(**kwargs) -> WholeNumberFilter:
    number = WholeNumberFilter(min_value=1, max_value=INT32_MAX, **kwargs)
    set_override(number, "field", {"type": "integer", "minimum": 1, "maximum": INT32_MAX})
    return number


def _search(max_length: int = SEARCH_MAX) -> django_filters.CharFilter:
    return text_filter(max_length, method="search", label="Search")


class FindingFilterSet(django_filters.FilterSet):
    feature = text_filter(80, field_name="feature_key", help_text="A feature key (observed keys too, for drift).")
    version = whole_number_filter(field_name="registration__version", help_text="The version it is about.")
    source = django_filters.ChoiceFilter(choices=FindingSource.choices)
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    status = django_filters.ChoiceFilter(choices=FindingStatus.choices)
    rule_id = text_filter(60, help_text="e.g. signal-exceeds-tier, undeclared-signal.")

    class Meta:
        model = Finding
        fields = ["feature", "version", "source", "severity", "status", "rule_id"]


class VersionFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RegistrationStatus.choices)

    class Meta:
        model = Registration
        fields = ["status"]


class SignalFilterSet(django_filters.FilterSet):
    q = _search()
    category = django_filters.ChoiceFilter(choices=SignalCategory.choices)
    sensitivity = django_filters.ChoiceFilter(choices=Sensitivity.choices)

    class Meta:
        model = Signal
        fields = ["q", "category", "sensitivity"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(key__icontains=value) | Q(name__icontains=value) | Q(description__icontains=value))


class ServiceIdentityFilterSet(django_filters.FilterSet):
    q = _search()
    kind = django_filters.ChoiceFilter(choices=IdentityKind.choices)
    status = django_filters.ChoiceFilter(choices=IdentityStatus.choices)
    team = text_filter(50, field_name="team__slug", help_text="A team's slug.")

    class Meta:
        model = ServiceIdentity
        fields = ["q", "kind", "status", "team"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))
