"""Reads for reviewers: the queue of versions in review and everything a review page shows."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from features.choices import RegistrationStatus
from features.declaration import declaration_of
from features.diff import declaration_diff
from features.models import Finding, FindingStatus, Outcome, Registration
from features.selectors import registration_with_rows
from governance.policy.severity import Severity


def review_queue() -> QuerySet[Registration]:
    """Submitted versions, oldest first, with their open findings counted by severity."""
    open_findings = Q(findings__status=FindingStatus.OPEN)
    return (
        Registration.objects.filter(status=RegistrationStatus.SUBMITTED)
        .select_related("feature__team", "submitted_by")
        .annotate(
            open_critical=Count(
                "findings", filter=open_findings & Q(findings__severity=Severity.CRITICAL), distinct=True
            ),
            open_warning=Count(
                "findings", filter=open_findings & Q(findings__severity=Severity.WARNING), distinct=True
            ),
            approvals=Count("decisions", filter=Q(decisions__outcome=Outcome.APPROVE), distinct=True),
        )
        .order_by("submitted_at", "pk")
    )


def findings_for_review(registration: Registration) -> list[Finding]:
    """The version's policy findings and the feature's open drift and calendar findings, worst first."""
    return list(
        Finding.objects.filter(Q(registration=registration) | Q(feature=registration.feature_id, registration=None))
        .select_related("accepted_by")
        .order_by("status", "severity", "rule_id", "path")
    )


def diff_against_approved(registration: Registration):
    """What this version changes compared with the version in force (None: nothing approved yet)."""
    approved_id = registration.feature.approved_registration_id
    approved = None
    if approved_id and approved_id != registration.pk:
        approved = Registration.objects.get(pk=approved_id)
        approved = registration_with_rows(registration.feature, approved.version)
    before = declaration_of(approved) if approved else None
    return approved, declaration_diff(before, declaration_of(registration))
