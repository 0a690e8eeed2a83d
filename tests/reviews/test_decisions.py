"""Review decisions (governance/reviews/services.py): who may decide, at which tier, over which findings."""

import datetime

import pytest

from features.choices import FeatureStatus, RegistrationStatus, Tier
from features.lifecycle import TransitionNotAllowed
from features.models import Decision, Finding, FindingStatus, Outcome, Registration
from features.services import NotAllowed, feature_create, registration_save_draft
from governance.accounts.models import Role
from governance.audit.models import AuditEvent
from governance.reviews.services import (
    DecisionInvalid,
    OpenCriticalFindings,
    SegregationOfDuties,
    add_months,
    finding_accept,
    review_decide,
)
from tests.factories import UserFactory, catalogue_for, complete_declaration
from tests.reviews.support import (
    approve,
    file_feature,
    refile,
    tier_2,
    tier_3,
    with_purchase_history,
    with_wiki_secret,
)

pytestmark = pytest.mark.django_db

# A well-known example AWS access key id: shaped like a secret, valid nowhere.
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"


@pytest.fixture
def submitted(owner, team):
    return file_feature(owner, team)


def refreshed(registration: Registration) -> Registration:
    return Registration.objects.select_related("feature").get(pk=registration.pk)


def critical_finding(registration: Registration) -> Finding:
    return registration.findings.get(severity="critical")


# --- approving ------------------------------------------------------------------------------------


def test_approving_a_tier_1_request_approves_the_version_and_the_feature(reviewer, submitted, today):
    approve(reviewer, submitted)

    registration = refreshed(submitted)
    assert registration.status == RegistrationStatus.APPROVED
    assert registration.approved_tier == Tier.BASIC
    assert registration.feature.status == FeatureStatus.APPROVED
    assert registration.feature.approved_registration == registration


def test_approval_is_due_for_re_review_twelve_months_later_by_default(reviewer, submitted, today):
    approve(reviewer, submitted)

    assert refreshed(submitted).review_due_on == datetime.date(2031, 3, 14)


def test_the_default_review_period_comes_from_the_settings(reviewer, submitted, today, settings):
    settings.GOVERNANCE = settings.GOVERNANCE | {"REVIEW_PERIOD_MONTHS": {1: 3, 2: 12, 3: 6}}

    approve(reviewer, submitted)

    assert refreshed(submitted).review_due_on == datetime.date(2030, 6, 14)


def test_a_reviewer_may_set_an_earlier_re_review_date(reviewer, submitted, today):
    approve(reviewer, submitted, expires_on=datetime.date(2030, 9, 1))

    assert refreshed(submitted).review_due_on == datetime.date(2030, 9, 1)


def test_a_re_review_date_in_the_past_is_refused(reviewer, submitted, today):
    with pytest.raises(DecisionInvalid) as refused:
        approve(reviewer, submitted, expires_on=today)

    assert "expires_on" in refused.value.errors
    assert refreshed(submitted).status == RegistrationStatus.SUBMITTED


def test_review_periods_end_on_the_last_day_of_a_shorter_month():
    assert add_months(datetime.date(2030, 8, 31), 6) == datetime.date(2031, 2, 28)


def test_approving_records_a_decision_with_its_conditions(reviewer, submitted, today):
    decision = approve(reviewer, submitted, conditions="No use outside the EU.")

    stored = Decision.objects.get(registration=submitted)
    assert stored == decision
    assert (stored.reviewer, stored.outcome, stored.tier) == (reviewer, Outcome.APPROVE, Tier.BASIC)
    assert stored.conditions == "No use outside the EU."
    assert stored.expires_on == datetime.date(2031, 3, 14)


def test_approving_writes_a_decided_audit_event(reviewer, submitted, today):
    approve(reviewer, submitted, conditions="No use outside the EU.")

    event = AuditEvent.objects.get(action="registration.decided")
    assert event.actor == reviewer
    assert event.object_id == str(submitted.pk)
    assert event.payload["outcome"] == Outcome.APPROVE
    assert event.payload["tier"] == Tier.BASIC
    assert event.payload["conditions"] == "No use outside the EU."
    assert AuditEvent.objects.filter(action="registration.approved", object_id=str(submitted.pk)).exists()


def test_owners_are_emailed_the_outcome(reviewer, submitted, today, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        approve(reviewer, submitted, conditions="No use outside the EU.")

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["owner@example.test"]
    assert "approve" in mail.subject.lower()
    assert "at tier 1" in mail.body
    assert "No use outside the EU." in mail.body
    assert "2031-03-14" in mail.body


def test_a_reviewer_may_approve_below_the_requested_tier(owner, team, reviewer, today):
    registration = file_feature(owner, team, tier_2())

    approve(reviewer, registration, tier=Tier.BASIC)

    assert refreshed(registration).approved_tier == Tier.BASIC
    assert refreshed(registration).status == RegistrationStatus.APPROVED


def test_approving_above_the_requested_tier_is_refused(reviewer, submitted, today):
    with pytest.raises(DecisionInvalid) as refused:
        approve(reviewer, submitted, tier=Tier.ENRICHED)

    assert "tier" in refused.value.errors
    assert not Decision.objects.exists()


def test_approving_without_a_tier_is_refused(reviewer, submitted, today):
    with pytest.raises(DecisionInvalid) as refused:
        review_decide(actor=reviewer, registration=submitted, outcome=Outcome.APPROVE, tier=None)

    assert "tier" in refused.value.errors


# --- segregation of duties ------------------------------------------------------------------------


def test_the_submitter_cannot_approve_their_own_version_even_as_a_reviewer(owner, submitted, today):
    owner.role = Role.REVIEWER
    owner.save()
    owner.teams.clear()  # left the team too: only having submitted it stands in the way

    with pytest.raises(SegregationOfDuties, match="You submitted this version"):
        approve(owner, submitted)

    assert not Decision.objects.exists()


def test_a_reviewer_in_the_owning_team_cannot_approve(team, submitted, today):
    colleague = UserFactory(username="team-reviewer", role=Role.REVIEWER, teams=[team])

    with pytest.raises(SegregationOfDuties, match="Recommendations"):
        approve(colleague, submitted)

    assert not Decision.objects.exists()


@pytest.mark.parametrize("role", ["owner", "other_owner", "auditor", "administrator"])
def test_only_reviewers_decide(request, role, submitted, today):
    actor = request.getfixturevalue(role)

    with pytest.raises(NotAllowed):
        approve(actor, submitted)

    assert not Decision.objects.exists()
    assert refreshed(submitted).status == RegistrationStatus.SUBMITTED


# --- two reviewers for tier 3 ---------------------------------------------------------------------


@pytest.fixture
def tier_3_request(owner, team):
    return file_feature(owner, team, tier_3())


def test_one_approval_leaves_a_tier_3_request_in_review(reviewer, tier_3_request, today):
    approve(reviewer, tier_3_request)

    registration = refreshed(tier_3_request)
    assert registration.status == RegistrationStatus.SUBMITTED
    assert registration.feature.status == FeatureStatus.IN_REVIEW
    assert registration.feature.approved_registration is None


def test_the_same_reviewer_cannot_give_a_tier_3_request_its_second_approval(reviewer, tier_3_request, today):
    approve(reviewer, tier_3_request)

    with pytest.raises(SegregationOfDuties):
        approve(reviewer, tier_3_request)

    assert Decision.objects.filter(registration=tier_3_request).count() == 1
    assert refreshed(tier_3_request).status == RegistrationStatus.SUBMITTED


def test_a_second_reviewer_approves_a_tier_3_request(reviewer, second_reviewer, tier_3_request, today):
    approve(reviewer, tier_3_request)
    approve(second_reviewer, tier_3_request)

    registration = refreshed(tier_3_request)
    assert registration.status == RegistrationStatus.APPROVED
    assert registration.approved_tier == Tier.HIGH_TRUST
    assert registration.review_due_on == datetime.date(2030, 9, 14)  # tier 3: six months
    assert registration.feature.approved_registration == registration


def test_a_tier_3_request_approved_at_tier_2_needs_one_approval(reviewer, tier_3_request, today):
    approve(reviewer, tier_3_request, tier=Tier.ENRICHED)

    registration = refreshed(tier_3_request)
    assert registration.status == RegistrationStatus.APPROVED
    assert registration.approved_tier == Tier.ENRICHED


def test_the_approvals_a_tier_needs_come_from_the_settings(reviewer, tier_3_request, today, settings):
    settings.GOVERNANCE = settings.GOVERNANCE | {"APPROVALS_REQUIRED": {0: 1, 1: 1, 2: 1, 3: 1}}

    approve(reviewer, tier_3_request)

    assert refreshed(tier_3_request).status == RegistrationStatus.APPROVED


# --- critical findings and risk acceptance --------------------------------------------------------


@pytest.fixture
def over_tier(owner, team):
    """Purchase history (medium) at tier 1: signal-exceeds-tier is open and critical."""
    return file_feature(owner, team, with_purchase_history())


def test_approval_is_refused_over_an_open_critical_finding(reviewer, over_tier, today):
    with pytest.raises(OpenCriticalFindings) as refused:
        approve(reviewer, over_tier)

    assert [finding.rule_id for finding in refused.value.findings] == ["signal-exceeds-tier"]
    assert not Decision.objects.exists()
    assert refreshed(over_tier).status == RegistrationStatus.SUBMITTED


def test_a_secret_kept_outside_a_manager_blocks_approval(owner, team, reviewer, today):
    registration = file_feature(owner, team, with_wiki_secret())

    with pytest.raises(OpenCriticalFindings, match="secret-outside-manager"):
        approve(reviewer, registration)


def test_approval_goes_through_once_the_critical_finding_is_accepted(reviewer, over_tier, today):
    finding_accept(
        actor=reviewer,
        finding=critical_finding(over_tier),
        reason="Purchase history is aggregated to categories before ranking.",
        until=today + datetime.timedelta(days=90),
    )

    approve(reviewer, over_tier)

    assert refreshed(over_tier).status == RegistrationStatus.APPROVED


def test_accepting_a_finding_records_who_why_and_until_when(reviewer, over_tier, today):
    until = today + datetime.timedelta(days=90)

    finding_accept(actor=reviewer, finding=critical_finding(over_tier), reason="Aggregated first.", until=until)

    finding = critical_finding(over_tier)
    assert finding.status == FindingStatus.ACCEPTED
    assert (finding.accepted_by, finding.accepted_reason, finding.accepted_until) == (
        reviewer,
        "Aggregated first.",
        until,
    )
    assert AuditEvent.objects.get(action="finding.accepted").payload["until"] == until.isoformat()


@pytest.mark.parametrize(
    ("reason", "days", "field"),
    [
        ("", 30, "reason"),
        ("   ", 30, "reason"),
        ("Aggregated first.", -1, "until"),
        ("Aggregated first.", 0, "until"),
        ("Aggregated first.", 366, "until"),
    ],
    ids=["no-reason", "blank-reason", "past-date", "today", "beyond-365-days"],
)
def test_an_incomplete_acceptance_is_refused(reviewer, over_tier, today, reason, days, field):
    with pytest.raises(DecisionInvalid) as refused:
        finding_accept(
            actor=reviewer,
            finding=critical_finding(over_tier),
            reason=reason,
            until=today + datetime.timedelta(days=days),
        )

    assert field in refused.value.errors
    assert critical_finding(over_tier).status == FindingStatus.OPEN


def test_an_acceptance_without_a_date_is_refused(reviewer, over_tier, today):
    with pytest.raises(DecisionInvalid) as refused:
        finding_accept(actor=reviewer, finding=critical_finding(over_tier), reason="Aggregated first.", until=None)

    assert "until" in refused.value.errors


def test_a_risk_may_be_accepted_for_up_to_365_days(reviewer, over_tier, today):
    finding_accept(
        actor=reviewer,
        finding=critical_finding(over_tier),
        reason="Aggregated first.",
        until=today + datetime.timedelta(days=365),
    )

    assert critical_finding(over_tier).status == FindingStatus.ACCEPTED


def test_accepting_a_finding_twice_is_refused(reviewer, over_tier, today):
    until = today + datetime.timedelta(days=30)
    finding_accept(actor=reviewer, finding=critical_finding(over_tier), reason="Aggregated first.", until=until)

    with pytest.raises(TransitionNotAllowed):
        finding_accept(actor=reviewer, finding=critical_finding(over_tier), reason="Again.", until=until)


def test_the_owning_team_cannot_accept_its_own_risk(team, owner, over_tier, today):
    colleague = UserFactory(username="team-reviewer", role=Role.REVIEWER, teams=[team])
    until = today + datetime.timedelta(days=30)

    with pytest.raises(NotAllowed):
        finding_accept(actor=owner, finding=critical_finding(over_tier), reason="Fine by us.", until=until)
    with pytest.raises(SegregationOfDuties):
        finding_accept(actor=colleague, finding=critical_finding(over_tier), reason="Fine by us.", until=until)

    assert critical_finding(over_tier).status == FindingStatus.OPEN


def test_the_submitter_cannot_accept_the_risk_of_their_own_version(owner, over_tier, today):
    owner.role = Role.REVIEWER
    owner.save()
    owner.teams.clear()

    with pytest.raises(SegregationOfDuties, match="You submitted this version"):
        finding_accept(
            actor=owner,
            finding=critical_finding(over_tier),
            reason="Fine by me.",
            until=today + datetime.timedelta(days=30),
        )

    assert critical_finding(over_tier).status == FindingStatus.OPEN


# --- what may be decided --------------------------------------------------------------------------


def test_a_draft_cannot_be_decided(owner, team, reviewer, today):
    declaration = complete_declaration()
    catalogue_for(declaration)
    feature = feature_create(actor=owner, key="reco-locale", name="Reco", team=team, declaration=declaration)

    with pytest.raises(TransitionNotAllowed):
        approve(reviewer, feature.versions.get())

    assert not Decision.objects.exists()


@pytest.mark.parametrize(
    ("outcome", "comment"),
    [
        (Outcome.APPROVE, ""),
        (Outcome.REQUEST_CHANGES, "Declare where the locale comes from."),
        (Outcome.REJECT, "The feature duplicates the search ranking."),
    ],
)
def test_a_decided_version_cannot_be_decided_again(reviewer, second_reviewer, submitted, today, outcome, comment):
    review_decide(actor=reviewer, registration=submitted, outcome=outcome, tier=Tier.BASIC, comment=comment)

    with pytest.raises(TransitionNotAllowed):
        approve(second_reviewer, submitted)

    assert Decision.objects.count() == 1


@pytest.mark.parametrize("outcome", [Outcome.REQUEST_CHANGES, Outcome.REJECT])
@pytest.mark.parametrize("comment", ["", "  \n "])
def test_sending_back_or_rejecting_needs_a_comment(reviewer, submitted, today, outcome, comment):
    with pytest.raises(DecisionInvalid) as refused:
        review_decide(actor=reviewer, registration=submitted, outcome=outcome, comment=comment)

    assert "comment" in refused.value.errors
    assert refreshed(submitted).status == RegistrationStatus.SUBMITTED


def test_requesting_changes_sends_the_feature_back_to_its_owner(reviewer, submitted, today):
    review_decide(
        actor=reviewer, registration=submitted, outcome=Outcome.REQUEST_CHANGES, comment="Shorten the retention."
    )

    registration = refreshed(submitted)
    assert registration.status == RegistrationStatus.CHANGES_REQUESTED
    assert registration.feature.status == FeatureStatus.CHANGES_REQUESTED


def test_rejecting_rejects_the_version_and_the_feature(reviewer, submitted, today):
    review_decide(actor=reviewer, registration=submitted, outcome=Outcome.REJECT, comment="Not needed.")

    registration = refreshed(submitted)
    assert registration.status == RegistrationStatus.REJECTED
    assert registration.feature.status == FeatureStatus.REJECTED


def test_after_a_change_request_the_owner_files_a_new_version(owner, reviewer, submitted, today):
    review_decide(
        actor=reviewer, registration=submitted, outcome=Outcome.REQUEST_CHANGES, comment="Shorten the retention."
    )
    feature = submitted.feature

    draft = registration_save_draft(actor=owner, feature=feature, declaration=complete_declaration(retention_days=7))
    assert (draft.version, draft.based_on_id) == (2, submitted.pk)
    v2 = refile(owner, feature, complete_declaration(retention_days=7))

    assert v2.pk == draft.pk
    assert refreshed(v2).status == RegistrationStatus.SUBMITTED
    assert refreshed(v2).feature.status == FeatureStatus.IN_REVIEW
    assert refreshed(submitted).status == RegistrationStatus.CHANGES_REQUESTED


def test_approving_a_new_version_supersedes_the_one_in_force(owner, reviewer, submitted, today):
    approve(reviewer, submitted)
    v2 = refile(owner, submitted.feature)

    approve(reviewer, v2)

    assert refreshed(submitted).status == RegistrationStatus.SUPERSEDED
    assert refreshed(v2).status == RegistrationStatus.APPROVED
    assert refreshed(v2).feature.approved_registration == refreshed(v2)


def test_the_approved_version_stays_in_force_while_the_next_is_in_review(owner, reviewer, submitted, today):
    approve(reviewer, submitted)

    v2 = refile(owner, submitted.feature)

    feature = refreshed(v2).feature
    assert feature.status == FeatureStatus.IN_REVIEW
    assert feature.approved_registration_id == submitted.pk
    assert refreshed(submitted).status == RegistrationStatus.APPROVED


def test_rejecting_the_next_version_keeps_the_approved_one_in_force(owner, reviewer, submitted, today):
    approve(reviewer, submitted)
    v2 = refile(owner, submitted.feature)

    review_decide(actor=reviewer, registration=v2, outcome=Outcome.REJECT, comment="Not needed.")

    assert refreshed(v2).feature.approved_registration_id == submitted.pk
    assert refreshed(submitted).status == RegistrationStatus.APPROVED


# --- secrets never stored -------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["comment", "conditions"])
def test_a_secret_shaped_comment_or_condition_is_refused_and_not_stored(reviewer, submitted, today, field):
    with pytest.raises(DecisionInvalid) as refused:
        review_decide(
            actor=reviewer,
            registration=submitted,
            outcome=Outcome.REQUEST_CHANGES,
            **{"comment": "Rotate the key.", field: f"Use {AWS_KEY} instead."},
        )

    assert field in refused.value.errors
    assert AWS_KEY not in str(refused.value)
    assert not Decision.objects.exists()
    assert not any(AWS_KEY in event.payload_text for event in AuditEvent.objects.all())
    assert refreshed(submitted).status == RegistrationStatus.SUBMITTED


def test_a_secret_shaped_acceptance_reason_is_refused_and_not_stored(reviewer, over_tier, today):
    with pytest.raises(DecisionInvalid) as refused:
        finding_accept(
            actor=reviewer,
            finding=critical_finding(over_tier),
            reason=f"Key {AWS_KEY} is scoped.",
            until=today + datetime.timedelta(days=30),
        )

    assert "reason" in refused.value.errors
    assert AWS_KEY not in str(refused.value)
    assert critical_finding(over_tier).accepted_reason == ""
