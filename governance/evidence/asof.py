"""The registry as it stood at a past moment, rebuilt from the versions' timestamps and the audit trail.

Plain functions over plain values, so each rule can be read and tested alone. Every function takes
`as_of`: None means "now", and the stored (current) value is the answer.

Where the past comes from:
- a version exists from `submitted_at` (drafts were never filed, so never count); it is approved from
  `approved_at`, superseded from the moment a later version was approved, changes-requested or rejected
  from the decision that said so;
- the version in force is the one approved last at or before the moment;
- a feature exists from `created_at`, is retired from its "feature.retired" audit event, and otherwise
  stands where its latest filed version stands;
- a finding exists from `created_at`; its status follows a timeline of what happened to it: resolution
  (`resolved_at`, and the "drift.resolved" / "drift.opened" and "registration.reevaluated" events that
  record resolutions and reopenings the row no longer remembers), acceptance ("finding.accepted", with its
  date and reason) and lapse ("finding.acceptance_lapsed", or simply the acceptance's date passing);
- an observed edge exists from `first_seen`; its count is the sum of its daily counts up to that day.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from features.choices import FeatureStatus, RegistrationStatus
from features.models import FindingStatus, Outcome

# How a feature stands when its latest filed version stands so (DESIGN.md: the lifecycle).
FEATURE_STATUS_OF_VERSION = {
    RegistrationStatus.SUBMITTED: FeatureStatus.IN_REVIEW,
    RegistrationStatus.APPROVED: FeatureStatus.APPROVED,
    RegistrationStatus.SUPERSEDED: FeatureStatus.APPROVED,
    RegistrationStatus.CHANGES_REQUESTED: FeatureStatus.CHANGES_REQUESTED,
    RegistrationStatus.REJECTED: FeatureStatus.REJECTED,
}
REFUSAL_STATUS = {
    Outcome.REQUEST_CHANGES: RegistrationStatus.CHANGES_REQUESTED,
    Outcome.REJECT: RegistrationStatus.REJECTED,
}


def happened(moment: datetime.datetime | None, as_of: datetime.datetime | None) -> bool:
    """Whether something stamped `moment` had happened by `as_of` (None: now, so whenever it happened)."""
    return moment is not None and (as_of is None or moment <= as_of)


def end_of_day(day: datetime.date) -> datetime.datetime:
    """The last instant of `day` in UTC: "as of 2026-01-31" includes everything on that day."""
    return datetime.datetime.combine(day, datetime.time.max, tzinfo=datetime.UTC)


# --- versions ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionTimes:
    """What a version's history needs: its number, its stored status and when things happened to it."""

    version: int
    status: str
    submitted_at: datetime.datetime | None
    approved_at: datetime.datetime | None
    # The first decision that sent it back or rejected it: (outcome, decided_at).
    refusal: tuple[str, datetime.datetime] | None = None


def filed(versions: Iterable[VersionTimes], as_of: datetime.datetime | None) -> list[VersionTimes]:
    """The versions submitted by `as_of`, oldest first; drafts never."""
    return sorted((v for v in versions if happened(v.submitted_at, as_of)), key=lambda v: v.version)


def version_in_force(versions: Iterable[VersionTimes], as_of: datetime.datetime | None) -> int | None:
    """The number of the version approved last at or before `as_of`, or None."""
    approved = [v for v in versions if happened(v.approved_at, as_of)]
    if not approved:
        return None
    return max(approved, key=lambda v: (v.approved_at, v.version)).version


def version_status(version: VersionTimes, versions: Iterable[VersionTimes], as_of: datetime.datetime | None) -> str:
    """The status `version` had at `as_of` (the stored one when `as_of` is None)."""
    if as_of is None:
        return version.status
    if happened(version.approved_at, as_of):
        superseded = any(
            happened(other.approved_at, as_of) and other.approved_at > version.approved_at
            for other in versions
            if other.version != version.version
        )
        return RegistrationStatus.SUPERSEDED if superseded else RegistrationStatus.APPROVED
    if version.refusal is not None and happened(version.refusal[1], as_of):
        return REFUSAL_STATUS[version.refusal[0]]
    return RegistrationStatus.SUBMITTED


def feature_status(
    *,
    current: str,
    latest_filed_status: str | None,
    retired_at: datetime.datetime | None,
    as_of: datetime.datetime | None,
) -> str:
    """The lifecycle status of a feature at `as_of`: retired once retired, else where its latest filed
    version stood (draft when nothing was filed yet)."""
    if as_of is None:
        return current
    if happened(retired_at, as_of):
        return FeatureStatus.RETIRED
    if latest_filed_status is None:
        return FeatureStatus.DRAFT
    return FEATURE_STATUS_OF_VERSION[latest_filed_status]


# --- findings ---------------------------------------------------------------------------------------------

OPENED, RESOLVED, ACCEPTED, LAPSED = "opened", "resolved", "accepted", "lapsed"


@dataclass(frozen=True)
class FindingEvent:
    """One thing that happened to a finding: opened, resolved, accepted (until, reason) or lapsed."""

    at: datetime.datetime
    kind: str
    until: datetime.date | None = None
    reason: str = ""


@dataclass(frozen=True)
class FindingState:
    status: str
    accepted_until: datetime.date | None = None
    accepted_reason: str = ""
    resolved_at: datetime.datetime | None = None


def finding_state(
    *,
    current: FindingState,
    created_at: datetime.datetime,
    events: Iterable[FindingEvent],
    as_of: datetime.datetime | None,
) -> FindingState:
    """The status of a finding at `as_of`, replaying what happened to it up to then.

    `events` must include the stored resolution (`resolved_at`) as a RESOLVED event; the rest comes from
    the audit trail. An acceptance whose date had passed by `as_of` counts as lapsed even if the daily
    sweep had not yet run.
    """
    if as_of is None:
        return current
    state = FindingState(FindingStatus.OPEN)
    order = {OPENED: 0, ACCEPTED: 1, LAPSED: 2, RESOLVED: 3}  # same instant: a resolution wins
    for event in sorted(events, key=lambda e: (e.at, order[e.kind])):
        if event.at > as_of or event.at < created_at:
            continue
        if event.kind == RESOLVED:
            state = FindingState(FindingStatus.RESOLVED, resolved_at=event.at)
        elif event.kind == OPENED or (event.kind == LAPSED and state.status == FindingStatus.ACCEPTED):
            state = FindingState(FindingStatus.OPEN)
        elif event.kind == ACCEPTED and state.status == FindingStatus.OPEN:
            state = FindingState(FindingStatus.ACCEPTED, accepted_until=event.until, accepted_reason=event.reason)
    if state.status == FindingStatus.ACCEPTED and state.accepted_until and state.accepted_until < as_of.date():
        state = FindingState(FindingStatus.OPEN)
    return state


# --- observed edges ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EdgeTotals:
    count: int
    last_seen: datetime.datetime


def edge_totals(
    *,
    count: int,
    first_seen: datetime.datetime,
    last_seen: datetime.datetime,
    days: Iterable[tuple[datetime.date, int]],
    as_of: datetime.datetime | None,
) -> EdgeTotals:
    """An edge's count and last sighting at `as_of`: the stored totals when nothing was seen after it,
    else the daily counts up to that day (day precision: the day of `as_of` counts whole)."""
    if as_of is None or last_seen <= as_of:
        return EdgeTotals(count, last_seen)
    cutoff = as_of.date()
    seen = [(day, n) for day, n in days if day <= cutoff]
    if not seen:
        return EdgeTotals(0, first_seen)
    last_day = max(day for day, _ in seen)
    return EdgeTotals(sum(n for _, n in seen), min(as_of, end_of_day(last_day)))
