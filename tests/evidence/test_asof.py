"""The point-in-time rules (governance/evidence/asof.py), one behaviour each, on plain values."""

import datetime

from features.choices import FeatureStatus, RegistrationStatus
from features.models import FindingStatus, Outcome
from governance.evidence import asof

UTC = datetime.UTC


def at(day: int, month: int = 1) -> datetime.datetime:
    return datetime.datetime(2026, month, day, 12, 0, tzinfo=UTC)


V1 = asof.VersionTimes(1, RegistrationStatus.SUPERSEDED, submitted_at=at(1), approved_at=at(5))
V2 = asof.VersionTimes(2, RegistrationStatus.APPROVED, submitted_at=at(10), approved_at=at(20))
V3 = asof.VersionTimes(3, RegistrationStatus.DRAFT, submitted_at=None, approved_at=None)
VERSIONS = [V1, V2, V3]


def test_a_version_exists_from_its_submission_and_a_draft_never():
    assert [v.version for v in asof.filed(VERSIONS, at(9))] == [1]
    assert [v.version for v in asof.filed(VERSIONS, None)] == [1, 2]


def test_a_version_approved_later_was_submitted_before_its_approval():
    assert asof.version_status(V2, VERSIONS, at(15)) == RegistrationStatus.SUBMITTED


def test_a_version_is_superseded_only_once_the_next_one_is_approved():
    assert asof.version_status(V1, VERSIONS, at(15)) == RegistrationStatus.APPROVED
    assert asof.version_status(V1, VERSIONS, at(21)) == RegistrationStatus.SUPERSEDED


def test_a_version_sent_back_shows_so_only_from_the_decision():
    sent_back = asof.VersionTimes(
        2, RegistrationStatus.CHANGES_REQUESTED, at(10), None, refusal=(Outcome.REQUEST_CHANGES, at(12))
    )

    assert asof.version_status(sent_back, [sent_back], at(11)) == RegistrationStatus.SUBMITTED
    assert asof.version_status(sent_back, [sent_back], at(13)) == RegistrationStatus.CHANGES_REQUESTED


def test_without_a_moment_the_stored_status_stands():
    assert asof.version_status(V1, VERSIONS, None) == RegistrationStatus.SUPERSEDED


def test_the_version_in_force_is_the_last_approved_by_then():
    assert asof.version_in_force(VERSIONS, at(4)) is None
    assert asof.version_in_force(VERSIONS, at(15)) == 1
    assert asof.version_in_force(VERSIONS, at(25)) == 2


def test_a_feature_is_retired_from_its_retirement_on():
    def status(moment):
        return asof.feature_status(
            current=FeatureStatus.RETIRED,
            latest_filed_status=RegistrationStatus.APPROVED,
            retired_at=at(25),
            as_of=moment,
        )

    assert status(at(24)) == FeatureStatus.APPROVED
    assert status(at(26)) == FeatureStatus.RETIRED


def test_a_feature_stands_where_its_latest_filed_version_stands():
    in_review = asof.feature_status(
        current=FeatureStatus.APPROVED, latest_filed_status=RegistrationStatus.SUBMITTED, retired_at=None, as_of=at(15)
    )

    assert in_review == FeatureStatus.IN_REVIEW


def test_a_finding_is_open_until_it_is_resolved():
    events = [asof.FindingEvent(at(10), asof.RESOLVED)]
    current = asof.FindingState(FindingStatus.RESOLVED, resolved_at=at(10))

    def status(moment):
        return asof.finding_state(current=current, created_at=at(2), events=events, as_of=moment).status

    assert status(at(9)) == FindingStatus.OPEN
    assert status(at(11)) == FindingStatus.RESOLVED


def test_an_accepted_finding_counts_as_accepted_until_its_date_passes():
    events = [asof.FindingEvent(at(5), asof.ACCEPTED, until=datetime.date(2026, 1, 15), reason="Vendor fix due.")]
    current = asof.FindingState(FindingStatus.OPEN)

    def state(moment):
        return asof.finding_state(current=current, created_at=at(2), events=events, as_of=moment)

    assert state(at(4)).status == FindingStatus.OPEN
    assert state(at(10)) == asof.FindingState(FindingStatus.ACCEPTED, datetime.date(2026, 1, 15), "Vendor fix due.")
    assert state(at(16)).status == FindingStatus.OPEN  # lapsed, whether or not the sweep had run


def test_a_finding_resolved_then_reopened_was_resolved_in_between():
    """A reopened finding's row forgets its resolution; the audit trail remembers it."""
    events = [asof.FindingEvent(at(10), asof.RESOLVED), asof.FindingEvent(at(20), asof.OPENED)]
    current = asof.FindingState(FindingStatus.OPEN)

    def status(moment):
        return asof.finding_state(current=current, created_at=at(2), events=events, as_of=moment).status

    assert [status(at(day)) for day in (5, 15, 25)] == [FindingStatus.OPEN, FindingStatus.RESOLVED, FindingStatus.OPEN]


def test_an_edge_counts_its_days_up_to_the_moment():
    days = [(datetime.date(2026, 1, 3), 4), (datetime.date(2026, 1, 7), 6), (datetime.date(2026, 1, 20), 90)]

    totals = asof.edge_totals(count=100, first_seen=at(3), last_seen=at(20), days=days, as_of=at(10))

    assert totals.count == 10
    assert totals.last_seen == asof.end_of_day(datetime.date(2026, 1, 7))


def test_an_edge_not_seen_since_keeps_its_stored_totals():
    totals = asof.edge_totals(count=100, first_seen=at(3), last_seen=at(20), days=[], as_of=at(25))

    assert totals == asof.EdgeTotals(100, at(20))
