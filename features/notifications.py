"""Emails people get: reviewers on each submission, owners on each decision and on an expired approval."""

from __future__ import annotations

from django.core.mail import send_mail
from django.urls import reverse

from governance.accounts.models import Role, User


def _addresses(users) -> list[str]:
    return sorted({user.email for user in users if user.email and user.is_active})


def _owners_of(feature, *also) -> list[str]:
    owners = User.objects.filter(role=Role.OWNER, teams=feature.team_id)
    return _addresses([*owners, *[user for user in also if user is not None]])


def notify_reviewers_of_submission(registration) -> None:
    feature = registration.feature
    recipients = _addresses(User.objects.filter(role=Role.REVIEWER))
    if not recipients:
        return
    url = reverse("reviews:review", args=[feature.key, registration.version])
    send_mail(
        subject=f"[Review] {feature.name} v{registration.version} asks for tier {registration.requested_tier}",
        message=(
            f"{registration.submitted_by} submitted version {registration.version} of {feature.name} "
            f"({feature.team.name}) for review at tier {registration.requested_tier}.\n\n"
            f"“{registration.explanation}”\n\nReview it: {url}\n"
        ),
        from_email=None,
        recipient_list=recipients,
    )


def notify_owners_of_decision(decision) -> None:
    registration = decision.registration
    feature = registration.feature
    recipients = _owners_of(feature, registration.submitted_by)
    if not recipients:
        return
    lines = [
        f"{decision.reviewer} decided on version {registration.version} of {feature.name}: "
        f"{decision.get_outcome_display().lower()}"
        + (f" at tier {decision.tier}" if decision.tier is not None else "")
        + "."
    ]
    if decision.conditions:
        lines.append(f"Conditions: {decision.conditions}")
    if decision.expires_on:
        lines.append(f"Re-review by: {decision.expires_on.isoformat()}")
    if decision.comment:
        lines.append(f"Comment: {decision.comment}")
    lines.append(f"See it: {reverse('features:detail', args=[feature.key])}")
    send_mail(
        subject=f"[Decision] {feature.name} v{registration.version}: {decision.get_outcome_display().lower()}",
        message="\n\n".join(lines),
        from_email=None,
        recipient_list=recipients,
    )


def notify_owners_of_expired_approval(registration) -> None:
    feature = registration.feature
    recipients = _owners_of(feature)
    if not recipients:
        return
    send_mail(
        subject=f"[Re-review] The approval of {feature.name} expired",
        message=(
            f"The approval of version {registration.version} of {feature.name} at tier "
            f"{registration.approved_tier} expired on {registration.review_due_on.isoformat()}. "
            "Start a new version and submit it for review.\n\n"
            f"{reverse('features:detail', args=[feature.key])}"
        ),
        from_email=None,
        recipient_list=recipients,
    )
