"""The review calendar: approvals and risk acceptances that run out.

Run daily (Celery beat in production; `manage.py sweep_reviews` in the embedded default). Idempotent:
a second run on the same day changes nothing.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from features.choices import FeatureStatus
from features.models import Feature, Finding, FindingSource, FindingStatus
from features.notifications import notify_owners_of_expired_approval
from governance.audit.chain import record
from governance.policy.severity import Severity

APPROVAL_EXPIRED = "approval-expired"


@dataclass(frozen=True)
class SweepResult:
    approvals_expired: int
    acceptances_lapsed: int


def approvals_expire(today: datetime.date) -> int:
    """Open a re-review finding (and email the owners) for each approval in force past its date."""
    # Whatever happened to later versions (in review, sent back, rejected), the approved one is still in
    # force until the feature is retired, so its expiry counts.
    due = (
        Feature.objects.filter(approved_registration__review_due_on__lte=today)
        .exclude(status=FeatureStatus.RETIRED)
        .select_related("approved_registration", "team")
    )
    opened = 0
    for feature in due:
        registration = feature.approved_registration
        with transaction.atomic():
            _, created = Finding.objects.get_or_create(
                feature=feature,
                registration=registration,
                fingerprint=f"{APPROVAL_EXPIRED}|v{registration.version}",
                defaults={
                    "source": FindingSource.REVIEW,
                    "rule_id": APPROVAL_EXPIRED,
                    "severity": Severity.WARNING,
                    "message": (
                        f"The approval of version {registration.version} at tier {registration.approved_tier} "
                        f"expired on {registration.review_due_on.isoformat()}: submit a new version for re-review."
                    ),
                },
            )
            if not created:
                continue
            record(
                actor=None,
                actor_label="review calendar",
                action="approval.expired",
                obj=registration,
                payload={"feature": feature.key, "review_due_on": registration.review_due_on},
            )
            transaction.on_commit(lambda r=registration: notify_owners_of_expired_approval(r))
            opened += 1
    return opened


def acceptances_lapse(today: datetime.date) -> int:
    """Reopen findings whose accepted risk has run past its date."""
    lapsed = 0
    for finding in Finding.objects.filter(status=FindingStatus.ACCEPTED, accepted_until__lt=today):
        with transaction.atomic():
            finding.status = FindingStatus.OPEN
            finding.save(update_fields=["status", "updated_at"])
            record(
                actor=None,
                actor_label="review calendar",
                action="finding.acceptance_lapsed",
                obj=finding,
                payload={"rule_id": finding.rule_id, "accepted_until": finding.accepted_until},
            )
        lapsed += 1
    return lapsed


def review_sweep(today: datetime.date | None = None) -> SweepResult:
    today = today or timezone.localdate()
    return SweepResult(approvals_expired=approvals_expire(today), acceptances_lapsed=acceptances_lapse(today))
