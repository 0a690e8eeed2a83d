"""Audit endpoint: is the hash chain intact? The same `verify` as the auditor's page and the command."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.api.docs import GovernanceAutoSchema
from governance.audit.chain import verify
from governance.audit.views import can_read_audit_trail


class NotAllowed(exceptions.PermissionDenied):
    """A role refusal, coded as the registry's `NotAllowed` is (this app may not import the registry)."""

    default_code = "not_allowed"


class VerificationSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="Every event's hash and link verified.")
    checked = serializers.IntegerField(help_text="Events verified before the first broken one (all when ok).")
    head_sequence = serializers.IntegerField(help_text="The chain's head; when broken, the last event that verified.")
    head_hash = serializers.CharField()
    first_broken_sequence = serializers.IntegerField(allow_null=True)
    problem = serializers.CharField(allow_null=True, help_text="What is wrong with the first broken event.")


class VerificationApi(APIView):
    """Recompute every hash and link of the audit trail, in sequence order; stops at the first broken one.

    Auditors, reviewers and administrators; owners get 403.
    """

    schema = GovernanceAutoSchema()

    @extend_schema(summary="Verify the audit trail", responses=VerificationSerializer)
    def get(self, request):
        if not can_read_audit_trail(request.user):
            raise NotAllowed("The audit trail spans every team: auditors, reviewers and administrators only.")
        return Response(VerificationSerializer(verify()).data)
