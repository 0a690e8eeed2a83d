"""The review calendar (governance/reviews/expiry.py): expired approvals and lapsed risk acceptances."""

import datetime
import io

import pytest
from django.conf import settings
from django.core.management import call_command

from features.models import Finding, FindingStatus, Outcome, Registration
from features.services import feature_retire
from governance.audit.models import AuditEvent
from governance.reviews.expiry import APPROVAL_EXPIRED, SweepResult, review_sweep
from governance.reviews.services import finding_accept, review_decide
from governance.reviews.tasks import sweep_reviews
from tests.reviews.support import TODAY, approve, file_feature, refile, with_purchase_history

pytestmark = pytest.mark.django_db

DUE = TODAY + datetime.timedelta(days=30)
TASK = "governance.reviews.tasks.sweep_reviews"


@pytest.fixture
def approved(owner, team, reviewer, today):
    """Version 1 of reco-locale, approved until DUE."""
    registration = file_feature(owner, team)
    approve(reviewer, registration, expires_on=DUE)
    return Registration.objects.select_related("feature").get(pk=registration.pk)


@pytest.fixture
def approved_later(owner, team, reviewer, today):
    """Another feature, approved with the default (twelve-month) re-review date."""
    registration = file_feature(owner, team, key="reco-region")
    approve(reviewer, registration)
    return registration


def expired_findings():
    return Finding.objects.filter(rule_id=APPROVAL_EXPIRED)


def test_the_sweep_opens_a_finding_for_each_expired_approval(approved, approved_later):
    result = review_sweep(DUE)

    assert result == SweepResult(approvals_expired=1, acceptances_lapsed=0)
    finding = expired_findings().get()
    assert (finding.feature, finding.registration) == (approved.feature, approved)
    assert finding.status == FindingStatus.OPEN
    assert DUE.isoformat() in finding.message


def test_an_approval_is_in_force_until_its_re_review_date(approved):
    assert review_sweep(DUE - datetime.timedelta(days=1)).approvals_expired == 0
    assert not expired_findings().exists()


def test_the_sweep_emails_the_owners_of_an_expired_approval(
    approved, approved_later, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        review_sweep(DUE)

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["owner@example.test"]
    assert "Re-review" in mailoutbox[0].subject
    assert approved.feature.name in mailoutbox[0].subject


def test_the_sweep_audits_an_expired_approval(approved):
    review_sweep(DUE)

    event = AuditEvent.objects.get(action="approval.expired")
    assert event.object_id == str(approved.pk)
    assert event.actor is None


def test_a_second_sweep_the_same_day_changes_nothing(approved, mailoutbox, django_capture_on_commit_callbacks):
    review_sweep(DUE)
    events = AuditEvent.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        result = review_sweep(DUE)

    assert result == SweepResult(approvals_expired=0, acceptances_lapsed=0)
    assert expired_findings().count() == 1
    assert AuditEvent.objects.count() == events
    assert mailoutbox == []


def test_an_expired_approval_is_flagged_while_the_next_version_is_in_review(owner, approved):
    refile(owner, approved.feature)

    assert review_sweep(DUE).approvals_expired == 1


def test_an_expired_approval_is_flagged_after_the_next_version_was_rejected(owner, second_reviewer, approved):
    v2 = refile(owner, approved.feature)
    review_decide(actor=second_reviewer, registration=v2, outcome=Outcome.REJECT, comment="Not needed.")

    assert review_sweep(DUE).approvals_expired == 1


def test_approving_a_new_version_resolves_the_expired_approval(owner, reviewer, approved):
    review_sweep(DUE)
    v2 = refile(owner, approved.feature)

    approve(reviewer, v2)

    finding = expired_findings().get()
    assert finding.status == FindingStatus.RESOLVED
    assert finding.resolved_at is not None


@pytest.fixture
def accepted(owner, team, reviewer, today):
    """A critical finding accepted until DUE."""
    registration = file_feature(owner, team, with_purchase_history(), key="reco-history")
    finding = registration.findings.get(rule_id="signal-exceeds-tier")
    return finding_accept(actor=reviewer, finding=finding, reason="Aggregated to categories first.", until=DUE)


def test_an_accepted_finding_reopens_after_its_date(accepted):
    result = review_sweep(DUE + datetime.timedelta(days=1))

    assert result.acceptances_lapsed == 1
    accepted.refresh_from_db()
    assert accepted.status == FindingStatus.OPEN
    assert AuditEvent.objects.filter(action="finding.acceptance_lapsed", object_id=str(accepted.pk)).exists()


def test_an_accepted_finding_holds_through_its_last_day(accepted):
    assert review_sweep(DUE).acceptances_lapsed == 0

    accepted.refresh_from_db()
    assert accepted.status == FindingStatus.ACCEPTED


def test_a_lapsed_acceptance_reopens_once(accepted):
    review_sweep(DUE + datetime.timedelta(days=1))

    assert review_sweep(DUE + datetime.timedelta(days=1)).acceptances_lapsed == 0


def test_the_command_sweeps_as_of_the_given_day_and_prints_the_counts(approved, accepted):
    out = io.StringIO()

    call_command("sweep_reviews", "--today", (DUE + datetime.timedelta(days=1)).isoformat(), stdout=out)

    assert out.getvalue().strip() == "1 approval(s) expired; 1 acceptance(s) lapsed."
    assert expired_findings().count() == 1


def test_the_task_sweeps_today_and_returns_the_counts(approved):
    Registration.objects.filter(pk=approved.pk).update(review_due_on=TODAY - datetime.timedelta(days=1))

    result = sweep_reviews.apply().get()

    assert result == {"approvals_expired": 1, "acceptances_lapsed": 0}


def test_the_sweep_is_on_the_beat_schedule():
    assert sweep_reviews.name == TASK
    schedules = [entry for entry in settings.CELERY_BEAT_SCHEDULE.values() if entry["task"] == TASK]
    assert len(schedules) == 1


def test_a_retired_feature_needs_no_re_review(owner, approved):
    feature_retire(actor=owner, feature=approved.feature)

    assert review_sweep(DUE).approvals_expired == 0
