"""Reads for the drift pages: one feature's declared-versus-observed data paths, and the registry-wide
overview of open drift. Each read is a fixed number of queries, whatever the number of paths."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from features.choices import DestinationKind
from features.models import Feature, Finding, FindingSource, FindingStatus, Registration, Signal
from governance.drift.models import ObservedDay, ObservedEdge
from governance.policy.severity import Severity

RESPONSE = DestinationKind.RESPONSE.value
RESPONSE_WINDOW_DAYS = 30
TOP_RESPONSE_SIGNALS = 10
CHART_DAYS = 30
NEWEST_FINDINGS = 20
UNREGISTERED = "Unregistered"
SEVERITY_ORDER = Case(
    *(When(severity=severity, then=Value(-severity.rank)) for severity in Severity),
    output_field=IntegerField(),
)


# --- one feature's data paths --------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One signal × destination: declared in the approved version, observed (and how often, how lately)."""

    declared: bool
    count: int = 0
    last_seen: datetime.datetime | None = None
    recent: bool = False

    @property
    def observed(self) -> bool:
        return self.count > 0

    @property
    def undeclared(self) -> bool:
        """Observed within the drift window without a declaration: what drift flags."""
        return self.recent and not self.declared

    @property
    def state(self) -> str:
        if self.undeclared:
            return "undeclared"
        if self.declared and self.recent:
            return "declared-observed"
        if self.declared:
            return "declared-only"
        return "stale" if self.observed else "none"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # the declared kind's label, or "" when the destination is only observed
    declared: bool


@dataclass(frozen=True)
class SignalRow:
    signal: str
    sensitivity: str  # "" when the signal is not in the catalogue
    declared: bool
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class IdentityRow:
    name: str
    declared: bool
    count: int
    last_seen: datetime.datetime | None
    recent: bool
    max_ttl_days: float | None

    @property
    def undeclared(self) -> bool:
        return self.recent and not self.declared


@dataclass(frozen=True)
class DataPaths:
    """Declared versus observed for one feature key (registered or not)."""

    key: str
    approved: Registration | None
    columns: tuple[Column, ...]
    rows: tuple[SignalRow, ...]
    identities: tuple[IdentityRow, ...]
    top_response: tuple[tuple[str, int], ...]
    stale_days: int
    undeclared_paths: int


def _approved_declaration(feature: Feature | None) -> Registration | None:
    if feature is None or feature.approved_registration_id is None:
        return None
    return Registration.objects.prefetch_related(
        "declared_signals__signal", "declared_identities__identity", "declared_destinations__signals"
    ).get(pk=feature.approved_registration_id)


def data_paths(key: str, feature: Feature | None, *, now: datetime.datetime | None = None) -> DataPaths:
    """The matrix of signals × destinations, declared (approved version) against observed, the identities,
    and the signals that most often shaped a response lately."""
    now = now or timezone.now()
    stale_days = int(settings.GOVERNANCE["DRIFT_STALE_DAYS"])
    recent_since = now - datetime.timedelta(days=stale_days)
    approved = _approved_declaration(feature)

    declared_signals = [row.signal.key for row in approved.declared_signals.all()] if approved else []
    declared_identities = [row.identity.name for row in approved.declared_identities.all()] if approved else []
    destinations = list(approved.declared_destinations.all()) if approved else []
    routes = {(signal.key, d.name) for d in destinations for signal in d.signals.all()}
    # Reaching the user's response needs only the signal to be declared.
    routes |= {(signal, RESPONSE) for signal in declared_signals}

    observed: dict[tuple[str, str], list] = {}
    identities: dict[str, list] = {}
    edges = ObservedEdge.objects.filter(feature_key=key).values_list(
        "service_identity", "signal", "destination", "count", "last_seen", "max_credential_ttl_seconds"
    )
    for identity, signal, destination, count, last_seen, ttl in edges:
        for totals, subject in ((observed, (signal, destination)), (identities, identity)):
            entry = totals.setdefault(subject, [0, last_seen, None])
            entry[0] += count
            entry[1] = max(entry[1], last_seen)
        if ttl is not None:
            identities[identity][2] = max(identities[identity][2] or 0, ttl)

    signal_keys = list(dict.fromkeys([*declared_signals, *sorted({s for s, _ in observed})]))
    column_names = list(dict.fromkeys([*(d.name for d in destinations), *sorted({d for _, d in observed})]))
    kinds = {d.name: d.get_kind_display() for d in destinations}
    kinds.setdefault(RESPONSE, DestinationKind.RESPONSE.label)
    sensitivities = dict(Signal.objects.filter(key__in=signal_keys).values_list("key", "sensitivity"))

    def cell(signal: str, destination: str) -> Cell:
        declared = (signal, destination) in routes
        seen = observed.get((signal, destination))
        if seen is None:
            return Cell(declared=declared)
        return Cell(declared=declared, count=seen[0], last_seen=seen[1], recent=seen[1] >= recent_since)

    rows = tuple(
        SignalRow(
            signal=signal,
            sensitivity=sensitivities.get(signal, ""),
            declared=signal in declared_signals,
            cells=tuple(cell(signal, name) for name in column_names),
        )
        for signal in signal_keys
    )
    identity_rows = tuple(
        IdentityRow(
            name=name,
            declared=name in declared_identities,
            count=identities.get(name, [0])[0],
            last_seen=identities.get(name, [0, None])[1],
            recent=name in identities and identities[name][1] >= recent_since,
            max_ttl_days=identities[name][2] / 86_400 if name in identities and identities[name][2] else None,
        )
        for name in dict.fromkeys([*declared_identities, *sorted(identities)])
    )
    return DataPaths(
        key=key,
        approved=approved,
        columns=tuple(Column(name=name, kind=kinds.get(name, ""), declared=name in kinds) for name in column_names),
        rows=rows,
        identities=identity_rows,
        top_response=top_response_signals(key, today=now.date()),
        stale_days=stale_days,
        undeclared_paths=sum(cell.undeclared for row in rows for cell in row.cells),
    )


def top_response_signals(key: str, *, today: datetime.date, limit: int = TOP_RESPONSE_SIGNALS):
    """The signals that most often influenced what the user was shown in the last 30 days (one query)."""
    since = today - datetime.timedelta(days=RESPONSE_WINDOW_DAYS - 1)
    rows = (
        ObservedDay.objects.filter(edge__feature_key=key, edge__destination=RESPONSE, day__gte=since)
        .values("edge__signal")
        .annotate(total=Sum("count"))
        .order_by("-total", "edge__signal")
        .values_list("edge__signal", "total")[:limit]
    )
    return tuple(rows)


def is_observed_key(key: str) -> bool:
    """Whether anything was ever observed or found for this key (an unregistered key has a page too)."""
    return (
        ObservedEdge.objects.filter(feature_key=key).exists()
        or Finding.objects.filter(source=FindingSource.DRIFT, feature_key=key).exists()
    )


def drift_findings(key: str) -> QuerySet[Finding]:
    """A key's drift findings that still ask for attention (open, or accepted for now), worst first."""
    return (
        Finding.objects.filter(source=FindingSource.DRIFT, feature_key=key)
        .exclude(status=FindingStatus.RESOLVED)
        .select_related("accepted_by")
        .order_by("status", SEVERITY_ORDER, "rule_id", "path")
    )


# --- the overview ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamDrift:
    team: str
    critical: int
    warning: int
    info: int

    @property
    def total(self) -> int:
        return self.critical + self.warning + self.info


@dataclass(frozen=True)
class DriftOverview:
    by_severity: dict[str, int]
    by_team: tuple[TeamDrift, ...]

    @property
    def total(self) -> int:
        return sum(self.by_severity.values())


def _open_drift() -> QuerySet[Finding]:
    return Finding.objects.filter(source=FindingSource.DRIFT, status=FindingStatus.OPEN)


def drift_overview() -> DriftOverview:
    """Open drift findings counted by severity and by owning team (one query)."""
    counts: dict[str, dict[str, int]] = {}
    rows = _open_drift().values("feature__team__name", "severity").annotate(n=Count("id")).order_by()
    for team, severity, n in rows.values_list("feature__team__name", "severity", "n"):
        by_severity = counts.setdefault(team or UNREGISTERED, {})
        by_severity[severity] = by_severity.get(severity, 0) + n
    teams = sorted(counts, key=lambda team: (team == UNREGISTERED, team))
    return DriftOverview(
        by_severity={
            severity.value: sum(team.get(severity.value, 0) for team in counts.values())
            for severity in reversed(Severity)
        },
        by_team=tuple(
            TeamDrift(
                team=team,
                critical=counts[team].get(Severity.CRITICAL, 0),
                warning=counts[team].get(Severity.WARNING, 0),
                info=counts[team].get(Severity.INFO, 0),
            )
            for team in teams
        ),
    )


def newest_open_drift(limit: int = NEWEST_FINDINGS) -> list[Finding]:
    return list(_open_drift().select_related("feature__team").order_by("-created_at", "-pk")[:limit])


def drift_chart(today: datetime.date, days: int = CHART_DAYS) -> dict[str, list]:
    """Observed volume per day and new drift findings per day, for the last `days` days (two queries)."""
    first = today - datetime.timedelta(days=days - 1)
    labels = [first + datetime.timedelta(days=n) for n in range(days)]
    volume = dict(
        ObservedDay.objects.filter(day__gte=first, day__lte=today)
        .values("day")
        .annotate(total=Sum("count"))
        .order_by()
        .values_list("day", "total")
    )
    start = timezone.make_aware(datetime.datetime.combine(first, datetime.time.min))
    opened = dict(
        Finding.objects.filter(Q(source=FindingSource.DRIFT) & Q(created_at__gte=start))
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(total=Count("id"))
        .order_by()
        .values_list("day", "total")
    )
    return {
        "labels": [day.isoformat() for day in labels],
        "observed": [int(volume.get(day, 0)) for day in labels],
        "new_findings": [int(opened.get(day, 0)) for day in labels],
    }
