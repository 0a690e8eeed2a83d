"""Reads for reviewers: the queue of versions in review and everything a review page shows."""

from __future__ import annotations

import functools

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from features.choices import RegistrationStatus
from features.declaration import declaration_of
from features.diff import declaration_diff
from features.models import Decision, Finding, FindingStatus, Outcome, Registration
from features.selectors import registration_with_rows
from governance.policy.severity import Severity


def review_queue() -> QuerySet[Registration]:
    """Submitted versions, oldest first, with their open findings counted by severity."""
    return _review_queue().all()  # a copy: the built one is never evaluated, only copied


@functools.cache
def _review_queue() -> QuerySet[Registration]:
    # Built once per process, like a view's class-level queryset: resolving the three counting subqueries
    # took as long as compiling and running the queue page's query (0.7 ms a visit). Nothing in it depends
    # on the request; whatever filters a caller adds go on a copy.
    #
    # Counted by subqueries, not by joining findings and decisions and grouping: the database counts for
    # the rows of the page only, and the page's count is a plain count of submitted versions.
    open_findings = Finding.objects.filter(registration=OuterRef("pk"), status=FindingStatus.OPEN)
    approvals = Decision.objects.filter(registration=OuterRef("pk"), outcome=Outcome.APPROVE)
    return (
        Registration.objects.filter(status=RegistrationStatus.SUBMITTED)
        .select_related("feature__team", "submitted_by")
        .annotate(
            open_critical=_count(open_findings.filter(severity=Severity.CRITICAL)),
            open_warning=_count(open_findings.filter(severity=Severity.WARNING)),
            approvals=_count(approvals),
        )
        .order_by("submitted_at", "pk")
    )


def review_queue_rows(registrations: QuerySet[Registration]) -> QuerySet[dict]:
    """The queue page's columns of `registrations` (a page of the `review_queue`): plain rows, not the four
    model instances behind each — the page is read on every visit, and those cost more than the columns."""
    return registrations.values(
        "version",
        "requested_tier",
        "submitted_at",
        "open_critical",
        "open_warning",
        "approvals",
        feature_key=F("feature__key"),
        feature_name=F("feature__name"),
        team_name=F("feature__team__name"),
        submitter_first_name=F("submitted_by__first_name"),
        submitter_last_name=F("submitted_by__last_name"),
        submitter_username=F("submitted_by__username"),
    )


def _count(rows: QuerySet) -> Coalesce:
    """How many `rows` there are, as a subquery (0 when none)."""
    counted = rows.order_by().values("registration").annotate(count=Count("pk")).values("count")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


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
