"""Review decisions and risk acceptance, with segregation of duties enforced here, not in the views.

- Only security reviewers decide; nobody decides on a version they submitted or whose team they are in.
- Approval is at or below the requested tier, never over an open critical finding (accept it first,
  with a reason and an expiry date), and needs as many distinct reviewers as the tier asks (tier 3: two).
- Request changes and reject need a comment the owner can act on.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from features.choices import RegistrationStatus
from features.lifecycle import TransitionNotAllowed
from features.models import Decision, Feature, Finding, FindingStatus, Outcome, Registration
from features.notifications import notify_owners_of_decision
from features.secrets import secret_kind, secret_refusal
from features.services import NotAllowed, registration_record_outcome
from governance.audit.chain import record
from governance.drift.scheduling import request_drift_evaluation


class SegregationOfDuties(Exception):
    """The reviewer is too close to what they would decide on."""


class OpenCriticalFindings(Exception):
    """Approval refused while critical findings are open; `findings` lists them."""

    def __init__(self, findings):
        self.findings = list(findings)
        names = ", ".join(sorted({finding.rule_id for finding in self.findings}))
        super().__init__(
            f"{len(self.findings)} critical finding(s) are open ({names}): accept each with a reason and an "
            "expiry date, or request changes."
        )


class DecisionInvalid(Exception):
    """A decision that is incomplete; `errors` maps a field to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items()))


def add_months(day: datetime.date, months: int) -> datetime.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=candidate)
        except ValueError:
            continue
    raise ValueError(day)


def default_review_date(tier: int, today: datetime.date) -> datetime.date | None:
    """The re-review date a tier's approval gets unless the reviewer sets another (DESIGN.md: tiers)."""
    months = settings.GOVERNANCE["REVIEW_PERIOD_MONTHS"].get(tier)
    return add_months(today, months) if months else None


def approvals_required(tier: int) -> int:
    return settings.GOVERNANCE["APPROVALS_REQUIRED"][tier]


def check_reviewer_independence(actor, feature: Feature | None, registration: Registration | None = None) -> None:
    """Raise unless `actor` is a reviewer outside the feature's team who did not submit the version.

    `feature` is None for a finding about an unregistered ("shadow") feature: no team to be part of.
    """
    if not actor.is_reviewer:
        raise NotAllowed("Only security reviewers take review decisions.")
    if registration is not None and registration.submitted_by_id == actor.pk:
        raise SegregationOfDuties("You submitted this version, so someone else must review it.")
    if feature is not None and actor.teams.filter(pk=feature.team_id).exists():
        raise SegregationOfDuties(f"You belong to {feature.team.name}, the team that owns this feature.")


def _refuse_secrets(errors: dict[str, list[str]], **texts: str) -> None:
    for field, text in texts.items():
        kind = secret_kind(text)
        if kind:
            errors.setdefault(field, []).append(secret_refusal(kind))


def _validate(registration, outcome, tier, expires_on, comment, conditions, today) -> None:
    errors: dict[str, list[str]] = {}
    _refuse_secrets(errors, comment=comment, conditions=conditions)
    if outcome not in Outcome.values:
        errors["outcome"] = ["Choose approve, request changes or reject."]
    elif outcome == Outcome.APPROVE:
        if tier is None:
            errors["tier"] = ["Choose the tier you approve."]
        elif not 0 <= tier <= registration.requested_tier:
            errors["tier"] = [f"Approve at tier {registration.requested_tier} (as requested) or lower."]
        if expires_on is not None and expires_on <= today:
            errors["expires_on"] = ["The re-review date must be in the future."]
    elif not comment.strip() and "comment" not in errors:
        errors["comment"] = [
            "Say what must change before approval."
            if outcome == Outcome.REQUEST_CHANGES
            else "Give the reason for rejecting."
        ]
    if errors:
        raise DecisionInvalid(errors)


@transaction.atomic
def review_decide(
    *,
    actor,
    registration: Registration,
    outcome: str,
    tier: int | None = None,
    conditions: str = "",
    expires_on: datetime.date | None = None,
    comment: str = "",
) -> Decision:
    """Record one reviewer's decision on a submitted version and, when it settles the review, its outcome."""
    feature = Feature.objects.select_for_update().select_related("team").get(pk=registration.feature_id)
    registration = Registration.objects.get(pk=registration.pk)
    check_reviewer_independence(actor, feature, registration)
    if registration.status != RegistrationStatus.SUBMITTED:
        raise TransitionNotAllowed(
            f"Version {registration.version} is {registration.get_status_display().lower()}; "
            "only a version in review can be decided."
        )
    today = timezone.localdate()
    _validate(registration, outcome, tier, expires_on, comment, conditions, today)

    if outcome == Outcome.APPROVE:
        if registration.decisions.filter(outcome=Outcome.APPROVE, reviewer=actor).exists():
            raise SegregationOfDuties(
                "You already approved this version; a second approval must come from another reviewer."
            )
        blocking = [f for f in registration.findings.filter(status=FindingStatus.OPEN) if f.blocks_approval]
        if blocking:
            raise OpenCriticalFindings(blocking)
        expires_on = expires_on or default_review_date(tier, today)

    decision = Decision.objects.create(
        registration=registration,
        reviewer=actor,
        outcome=outcome,
        tier=tier if outcome == Outcome.APPROVE else None,
        conditions=conditions.strip(),
        expires_on=expires_on if outcome == Outcome.APPROVE else None,
        comment=comment.strip(),
    )
    record(
        actor=actor,
        action="registration.decided",
        obj=registration,
        payload={
            "version": registration.version,
            "outcome": outcome,
            "tier": decision.tier,
            "conditions": decision.conditions,
            "expires_on": decision.expires_on,
            "comment": decision.comment,
        },
    )
    if outcome == Outcome.APPROVE:
        approvals = list(registration.decisions.filter(outcome=Outcome.APPROVE))
        approved_tier = min(d.tier for d in approvals)
        if len({d.reviewer_id for d in approvals}) >= approvals_required(approved_tier):
            registration_record_outcome(
                actor=actor,
                registration=registration,
                status=RegistrationStatus.APPROVED,
                approved_tier=approved_tier,
                review_due_on=min((d.expires_on for d in approvals if d.expires_on), default=None),
            )
            Finding.objects.filter(feature=feature, rule_id="approval-expired", status=FindingStatus.OPEN).update(
                status=FindingStatus.RESOLVED, resolved_at=timezone.now()
            )
            # The newly approved version may cover paths that were drift until now (or open new drift):
            # the drift task judges the feature again once this commits, outside the reviewer's request.
            request_drift_evaluation([feature.key])
    else:
        status = (
            RegistrationStatus.CHANGES_REQUESTED if outcome == Outcome.REQUEST_CHANGES else RegistrationStatus.REJECTED
        )
        registration_record_outcome(actor=actor, registration=registration, status=status)
    transaction.on_commit(lambda: notify_owners_of_decision(decision))
    return decision


MAX_ACCEPTANCE_DAYS = 365


@transaction.atomic
def finding_accept(*, actor, finding: Finding, reason: str, until: datetime.date | None) -> Finding:
    """Accept an open finding's risk until a date, with a reason; it reopens when the date passes."""
    finding = (
        Finding.objects.select_for_update(of=("self",))
        .select_related("feature__team", "registration")
        .get(pk=finding.pk)
    )
    # A version's submitter may not wave through the risks found in it either (segregation of duties).
    check_reviewer_independence(actor, finding.feature, finding.registration)
    if finding.status != FindingStatus.OPEN:
        raise TransitionNotAllowed(f"This finding is {finding.get_status_display().lower()}, not open.")
    today = timezone.localdate()
    errors: dict[str, list[str]] = {}
    _refuse_secrets(errors, reason=reason)
    if not reason.strip() and "reason" not in errors:
        errors["reason"] = ["Say why the risk is acceptable until then."]
    if until is None:
        errors["until"] = ["Give the date the acceptance ends."]
    elif not today < until <= today + datetime.timedelta(days=MAX_ACCEPTANCE_DAYS):
        errors["until"] = [f"Choose a date after today and within {MAX_ACCEPTANCE_DAYS} days."]
    if errors:
        raise DecisionInvalid(errors)
    finding.status = FindingStatus.ACCEPTED
    finding.accepted_until, finding.accepted_reason, finding.accepted_by = until, reason.strip(), actor
    finding.save(update_fields=["status", "accepted_until", "accepted_reason", "accepted_by", "updated_at"])
    record(
        actor=actor,
        action="finding.accepted",
        obj=finding,
        payload={
            "rule_id": finding.rule_id,
            "feature": finding.feature_key,
            "until": until,
            "reason": reason,
        },
    )
    return finding
