import django_filters
from django.db.models import Q

from features.choices import Tier
from features.models import FindingStatus, Registration
from governance.accounts.models import Team
from governance.policy.severity import Severity


class ReviewQueueFilterSet(django_filters.FilterSet):
    tier = django_filters.ChoiceFilter(choices=Tier.choices, field_name="requested_tier", empty_label="Any tier")
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.order_by("name"),
        field_name="feature__team",
        to_field_name="slug",
        empty_label="All teams",
    )
    severity = django_filters.ChoiceFilter(
        choices=Severity.choices,
        method="with_open_findings",
        empty_label="Any findings",
        label="Open findings of severity",
    )

    class Meta:
        model = Registration
        fields = ["tier", "team", "severity"]

    def with_open_findings(self, queryset, name, value):
        return queryset.filter(Q(findings__status=FindingStatus.OPEN) & Q(findings__severity=value)).distinct()
