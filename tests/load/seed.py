"""A registry of many features for the page benchmark, written with bulk inserts (seconds, not minutes).

Shaped like a registry some years on: most features approved (a third of them on their second version),
a fifth in review (half of those revising an approved version), the rest drafts, sent back, rejected or
retired; policy findings on the versions in review, drift findings on some approved features; decisions
behind every approval and one approval of two on the tier-3 versions in review. One owner's team owns
most of the features, so the owner's list is as long as it gets.

Call with Django's connection on a freshly migrated database (the benchmark's own): nothing is checked
against existing rows.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from features.choices import FeatureStatus, RegistrationStatus
from features.models import Decision, Feature, Finding, FindingSource, FindingStatus, Outcome, Registration
from governance.accounts.models import Role, Team, User
from governance.policy.severity import Severity

OTHER_TEAMS = 9
BATCH = 2000


@dataclass(frozen=True)
class Seeded:
    features: int
    owner_features: int  # the features of the owner's team: what the owner's list shows
    in_review: int  # submitted versions: what the review queue shows
    registrations: int
    findings: int
    decisions: int
    reviewer: User
    owner: User


def status_of(n: int) -> FeatureStatus:
    """Per 20 features: 4 in review, 2 drafts, 1 sent back, 1 rejected, 1 retired, 11 approved."""
    slot = n % 20
    if slot < 4:
        return FeatureStatus.IN_REVIEW
    return {
        4: FeatureStatus.DRAFT,
        5: FeatureStatus.DRAFT,
        6: FeatureStatus.CHANGES_REQUESTED,
        7: FeatureStatus.REJECTED,
        8: FeatureStatus.RETIRED,
    }.get(slot, FeatureStatus.APPROVED)


def versions_of(n: int, status: FeatureStatus) -> list[RegistrationStatus]:
    """The statuses of feature n's versions, oldest first."""
    if status == FeatureStatus.IN_REVIEW:
        return [RegistrationStatus.APPROVED, RegistrationStatus.SUBMITTED] if n % 2 else [RegistrationStatus.SUBMITTED]
    if status == FeatureStatus.APPROVED:
        return (
            [RegistrationStatus.SUPERSEDED, RegistrationStatus.APPROVED]
            if n % 3 == 0
            else [RegistrationStatus.APPROVED]
        )
    return {
        FeatureStatus.DRAFT: [RegistrationStatus.DRAFT],
        FeatureStatus.CHANGES_REQUESTED: [RegistrationStatus.CHANGES_REQUESTED],
        FeatureStatus.REJECTED: [RegistrationStatus.REJECTED],
        FeatureStatus.RETIRED: [RegistrationStatus.APPROVED],
    }[status]


def seed_registry(*, features: int) -> Seeded:
    """`features` features of 10 teams, 60 % of them the owner's team's, with versions, findings, decisions."""
    now = timezone.now()
    owner_team = Team.objects.create(slug="recommendations", name="Recommendations")
    others = Team.objects.bulk_create(
        Team(slug=f"team-{n:02d}", name=f"Team {n:02d}") for n in range(1, OTHER_TEAMS + 1)
    )
    reviewer = User.objects.create_user(username="bench-reviewer", role=Role.REVIEWER, first_name="Rita")
    second_reviewer = User.objects.create_user(username="bench-reviewer-2", role=Role.REVIEWER)
    owner = User.objects.create_user(username="bench-owner", role=Role.OWNER, first_name="Omar")
    owner.teams.add(owner_team)

    def team_of(n: int) -> Team:
        return owner_team if n % 5 < 3 else others[n % OTHER_TEAMS]

    statuses = [status_of(n) for n in range(features)]
    rows = Feature.objects.bulk_create(
        (
            Feature(
                key=f"feature-{n:05d}",
                name=f"Feature {n:05d} {('home ranking', 'search order', 'email digest', 'checkout offers')[n % 4]}",
                team=team_of(n),
                status=statuses[n],
                created_by=owner,
            )
            for n in range(features)
        ),
        batch_size=BATCH,
    )

    registrations = []
    for n, (feature, status) in enumerate(zip(rows, statuses, strict=True)):
        for version, registration_status in enumerate(versions_of(n, status), start=1):
            decided = registration_status in (RegistrationStatus.APPROVED, RegistrationStatus.SUPERSEDED)
            filed = registration_status != RegistrationStatus.DRAFT
            registrations.append(
                Registration(
                    feature=feature,
                    version=version,
                    status=registration_status,
                    explanation=f"We order {feature.name.lower()} by the language you browse in.",
                    purpose="Show products in the shopper's language first.",
                    requested_tier=n % 4,
                    created_by=owner,
                    submitted_by=owner if filed else None,
                    submitted_at=now - datetime.timedelta(days=n % 90, minutes=n) if filed else None,
                    approved_tier=n % 4 if decided else None,
                    approved_at=now - datetime.timedelta(days=n % 90) if decided else None,
                    review_due_on=(now + datetime.timedelta(days=365 - n % 300)).date() if decided else None,
                )
            )
    Registration.objects.bulk_create(registrations, batch_size=BATCH)
    with connection.cursor() as cursor:  # point each feature at its approved version, in one statement
        cursor.execute(
            """UPDATE features_feature AS f SET approved_registration_id = r.id
               FROM features_registration AS r
               WHERE r.feature_id = f.id AND r.status = %s""",
            [RegistrationStatus.APPROVED],
        )

    findings, decisions = [], []
    for registration in registrations:
        n = int(registration.feature.key.removeprefix("feature-"))
        key = registration.feature.key
        if registration.status == RegistrationStatus.SUBMITTED:
            kinds = [("retention-missing", Severity.INFO, FindingStatus.RESOLVED)]
            if n % 3 == 0:
                kinds.append(("signal-exceeds-tier", Severity.CRITICAL, FindingStatus.OPEN))
            if n % 2 == 0:
                kinds.append(("long-lived-secret", Severity.WARNING, FindingStatus.OPEN))
            if registration.requested_tier == 3:
                decisions.append(Decision(registration=registration, reviewer=second_reviewer, outcome=Outcome.APPROVE))
        elif registration.status == RegistrationStatus.APPROVED:
            kinds = [("explanation-one-sentence", Severity.WARNING, FindingStatus.RESOLVED)]
            decisions.append(
                Decision(
                    registration=registration,
                    reviewer=second_reviewer,
                    outcome=Outcome.APPROVE,
                    tier=registration.approved_tier,
                    expires_on=registration.review_due_on,
                )
            )
            if n % 7 == 0:
                findings.append(
                    Finding(
                        feature=registration.feature,
                        feature_key=key,
                        source=FindingSource.DRIFT,
                        rule_id="undeclared-signal",
                        severity=Severity.WARNING,
                        message="Signal purchase_history observed but not declared.",
                        fingerprint="undeclared-signal|purchase_history",
                    )
                )
        elif registration.status == RegistrationStatus.CHANGES_REQUESTED:
            kinds = [("consent-basis-insufficient", Severity.CRITICAL, FindingStatus.OPEN)]
            decisions.append(
                Decision(registration=registration, reviewer=second_reviewer, outcome=Outcome.REQUEST_CHANGES)
            )
        else:
            kinds = []
        findings.extend(
            Finding(
                feature=registration.feature,
                feature_key=key,
                registration=registration,
                source=FindingSource.POLICY,
                rule_id=rule_id,
                severity=severity,
                status=status,
                message=f"{rule_id} on {key}",
                fingerprint=f"{rule_id}|",
                resolved_at=now if status == FindingStatus.RESOLVED else None,
            )
            for rule_id, severity, status in kinds
        )
    Finding.objects.bulk_create(findings, batch_size=BATCH)
    Decision.objects.bulk_create(decisions, batch_size=BATCH)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # as autovacuum would have by the time anyone lists 10,000 features

    return Seeded(
        features=Feature.objects.count(),
        owner_features=Feature.objects.filter(team=owner_team).count(),
        in_review=Registration.objects.filter(status=RegistrationStatus.SUBMITTED).count(),
        registrations=Registration.objects.count(),
        findings=Finding.objects.count(),
        decisions=Decision.objects.count(),
        reviewer=reviewer,
        owner=owner,
    )
