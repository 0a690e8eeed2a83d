"""Filters for the audit trail page: by action, by actor, and by the object an event is about."""

import django_filters
from django import forms

from governance.audit.models import AuditEvent


class AuditEventFilterSet(django_filters.FilterSet):
    # A free-text filter shown as a list: an action nobody has performed yet matches nothing, not all.
    action = django_filters.CharFilter(label="Action", widget=forms.Select)
    actor = django_filters.CharFilter(field_name="actor_label", label="Actor")
    object_type = django_filters.CharFilter(label="Object type")
    object_id = django_filters.CharFilter(label="Object id")

    class Meta:
        model = AuditEvent
        fields = ["action", "actor", "object_type", "object_id"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        actions = AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct()
        self.form.fields["action"].widget.choices = [("", "Any action"), *((a, a) for a in actions)]
