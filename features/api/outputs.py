"""Response shapes more than one endpoint returns: findings, the policy engine's verdict."""

from __future__ import annotations

from rest_framework import serializers

from features.models import FindingSource, FindingStatus
from governance.policy.engine import has_critical
from governance.policy.severity import Severity


class FindingSerializer(serializers.Serializer):
    """A stored finding (policy, drift or review calendar): every API that lists findings shows this shape."""

    id = serializers.IntegerField()
    feature = serializers.CharField(source="feature_key", help_text="The feature key (observed, for drift).")
    registered = serializers.SerializerMethodField()
    version = serializers.IntegerField(source="registration.version", allow_null=True, default=None)
    source = serializers.ChoiceField(choices=FindingSource.choices)
    rule_id = serializers.CharField()
    severity = serializers.ChoiceField(choices=Severity.choices)
    message = serializers.CharField()
    path = serializers.CharField(allow_blank=True, help_text="The declaration field it is about (empty: all).")
    references = serializers.ListField(child=serializers.CharField())
    status = serializers.ChoiceField(choices=FindingStatus.choices)
    accepted_until = serializers.DateField(allow_null=True)
    accepted_reason = serializers.CharField(allow_blank=True)
    accepted_by = serializers.CharField(source="accepted_by.username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)

    def get_registered(self, finding) -> bool:
        return finding.feature_id is not None


class ReferenceSerializer(serializers.Serializer):
    framework = serializers.CharField()
    id = serializers.CharField()
    title = serializers.CharField()


class PolicyFindingSerializer(serializers.Serializer):
    """One policy rule's verdict on one part of a declaration (`PolicyFinding.as_dict()`)."""

    rule_id = serializers.CharField()
    severity = serializers.ChoiceField(choices=Severity.choices)
    path = serializers.CharField(allow_blank=True, help_text="The declaration field it is about (empty: all).")
    message = serializers.CharField(help_text="What is wrong and how to fix it.")
    references = ReferenceSerializer(many=True)


class PolicyCheckSerializer(serializers.Serializer):
    """The policy engine's verdict on a declaration; `critical` blocks a submission's approval."""

    critical = serializers.BooleanField()
    findings = PolicyFindingSerializer(many=True)


def policy_check(findings) -> dict:
    """The body of a policy verdict, as `manage.py check_declaration --format json` reports each file."""
    return {"critical": has_critical(findings), "findings": [finding.as_dict() for finding in findings]}
