"""Findings: what the policy rules, drift detection and the review calendar say is wrong, read-only here.

Reviewers, auditors and administrators see every finding (including drift's findings about feature keys
that are not registered); owners their teams' features' findings; a team-limited token its teams'.
Accepting a finding's risk is a reviewer's decision: see the reviews API.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema

from features.api.base import RegistryApi, token_teams
from features.api.filtersets import FindingFilterSet
from features.api.outputs import FindingSerializer
from features.api.registry import feature_for
from features.models import Finding
from features.selectors import findings_visible_to


class _FindingList(RegistryApi):
    queryset = Finding.objects.none()
    filterset_class = FindingFilterSet
    ordering_fields = ["created_at", "updated_at", "severity", "rule_id", "status", "id"]
    ordering = ["-created_at"]

    def findings(self, request):
        visible = findings_visible_to(request.user, team_ids=token_teams(request))
        return visible.select_related("registration", "accepted_by")


class FindingsApi(_FindingList):
    """Every finding you may see, newest first; filter by feature, version, source, severity, status, rule."""

    @extend_schema(summary="List findings", responses={200: FindingSerializer(many=True)})
    def get(self, request):
        return self.page_of(self.findings(request), FindingSerializer)


class FeatureFindingsApi(_FindingList):
    """One feature's findings (all its versions', and drift's and the calendar's), newest first."""

    @extend_schema(summary="List a feature's findings", responses={200: FindingSerializer(many=True)})
    def get(self, request, key: str):
        feature = feature_for(request, key)
        return self.page_of(self.findings(request).filter(feature=feature), FindingSerializer)
