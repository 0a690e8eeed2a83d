"""Filters for the feature list; the same FilterSet serves the HTML list and (later) the API."""

import django_filters
from django.db.models import Q

from features.choices import FeatureStatus, Tier
from features.models import Feature


class FeatureFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    team = django_filters.ModelChoiceFilter(
        queryset=None, field_name="team", to_field_name="slug", empty_label="All teams"
    )
    tier = django_filters.ChoiceFilter(choices=Tier.choices, field_name="requested_tier", empty_label="Any tier")
    status = django_filters.ChoiceFilter(choices=FeatureStatus.choices, empty_label="Any status")

    class Meta:
        model = Feature
        fields = ["q", "team", "tier", "status"]

    def __init__(self, *args, teams=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["team"].queryset = teams

    def search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(key__icontains=value))
