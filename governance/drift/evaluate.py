"""Drift: what runs (observed edges) judged against what was approved (each feature's approved version).

One evaluation reads everything it needs in a fixed handful of queries (features with their approved
declarations, the catalogue, the inventory, the observed edges, the stored drift findings), judges every
feature in memory with one function per drift kind, and writes only the difference: new findings in one
bulk insert, changed ones in one bulk update, resolutions in one UPDATE. A sweep over a thousand
features therefore costs the same number of queries as one feature.

The rules of the game (DESIGN.md, "Drift"):
- only paths seen within DRIFT_STALE_DAYS count, so a finding resolves itself once its path has not been
  seen for that long, or as soon as a newly approved version covers it;
- a finding is one drift kind about one subject (a signal, an identity, a signal → destination route):
  its fingerprint stays the same while its wording and counts change, so re-evaluation updates it;
- an accepted finding stays accepted while it holds and is resolved, not reopened, when it stops holding;
  a resolved finding that comes back is reopened;
- every run that changes a feature's drift leaves one "drift.opened" and/or one "drift.resolved" audit
  event for that feature, listing the findings, instead of one event per finding.
Evaluating some keys also re-judges the features observed sharing an identity with them, since their
identity-shared findings change too. Evaluations are serialised (an advisory lock on PostgreSQL).
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

import yaml
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils import timezone

from features.choices import SENSITIVITY_RANK, DestinationKind, FeatureStatus, Sensitivity
from features.models import (
    DeclaredDestination,
    DeclaredIdentity,
    DeclaredSignal,
    Feature,
    Finding,
    FindingSource,
    FindingStatus,
    ServiceIdentity,
    Signal,
)
from governance.audit.chain import record
from governance.drift.ingest import fold_staged_observations
from governance.drift.models import ObservedEdge
from governance.policy.references import Reference
from governance.policy.rules import TIER_CEILING
from governance.policy.severity import Severity

ACTOR_LABEL = "drift evaluation"
RESPONSE = DestinationKind.RESPONSE.value  # the explainability log: a signal influenced what was shown
REFERENCES_FILE = Path(__file__).with_name("references.yaml")
# pg_advisory_xact_lock key that serialises evaluations (a sweep and a pending run must not both insert
# the same new finding): the bytes of "driftevl" as a signed bigint.
EVALUATION_LOCK_KEY = int.from_bytes(b"driftevl", "big", signed=True)
RESOLVE_CHUNK = 500  # ids per UPDATE … WHERE id IN (…): well inside SQLite's parameter limit

UNDECLARED_SIGNAL = "undeclared-signal"
UNDECLARED_IDENTITY = "undeclared-identity"
UNDECLARED_DESTINATION = "undeclared-destination"
ABOVE_APPROVED_TIER = "above-approved-tier"
SHADOW_FEATURE = "shadow-feature"
IDENTITY_SHARED = "identity-shared"
CREDENTIAL_TTL_EXCEEDED = "credential-ttl-exceeded"
UNUSED_DECLARATION = "unused-declaration"
HIGH_RISK_SENSITIVITIES = frozenset({Sensitivity.HIGH, Sensitivity.SPECIAL})


# --- what the rules see --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DriftKind:
    """A drift kind's default severity, title and framework references (from references.yaml)."""

    rule_id: str
    severity: Severity
    title: str
    references: tuple[Reference, ...]


@functools.cache
def drift_kinds() -> Mapping[str, DriftKind]:
    """Every drift kind in references.yaml, by rule id (read once per process)."""
    raw = yaml.safe_load(REFERENCES_FILE.read_text(encoding="utf-8")) or {}
    kinds = {}
    for rule_id, entry in raw.items():
        try:
            references = tuple(
                Reference(str(r["framework"]), str(r["id"]), str(r["title"])) for r in entry["references"]
            )
            kinds[rule_id] = DriftKind(rule_id, Severity(entry["severity"]), str(entry["title"]), references)
        except (KeyError, TypeError, ValueError) as broken:
            raise ImproperlyConfigured(f"{REFERENCES_FILE.name}, {rule_id}: {broken!r}") from None
    return MappingProxyType(kinds)


class Edge(NamedTuple):
    """One observed path, as loaded: who fetched which signal for where, how often, how recently."""

    identity: str
    signal: str
    destination: str
    count: int
    last_seen: datetime.datetime
    ttl_seconds: int | None


@dataclass(frozen=True)
class Approved:
    """The approved version of a feature, reduced to what drift compares against."""

    version: int
    tier: int
    approved_at: datetime.datetime | None
    signals: frozenset[str]
    identities: frozenset[str]
    destination_kinds: Mapping[str, str]  # declared destination name → kind
    routes: Mapping[str, frozenset[str]]  # declared signal → the destinations declared for it


@dataclass(frozen=True)
class FeatureFacts:
    pk: int
    key: str
    status: str
    approved: Approved | None


@dataclass(frozen=True)
class Facts:
    """What every feature is judged against: the catalogue, the inventory, the thresholds, who shares what."""

    now: datetime.datetime
    stale_since: datetime.datetime  # paths last seen before this no longer count
    unused_since: datetime.datetime  # a declared signal unseen since this is unused
    sensitivity: Mapping[str, str]  # signal key → sensitivity
    lifetime_days: Mapping[str, int]  # identity name → credential_max_lifetime_days
    policy_lifetime_days: int
    third_parties: frozenset[str]  # destination names declared as third party anywhere in the registry
    identity_users: Mapping[str, frozenset[str]]  # identity → feature keys observed using it recently


class Observed:
    """A feature's observed paths: `recent` ones count for drift, `edges` reach back to the unused window.

    The groupings the rules share are computed once, when first asked for.
    """

    def __init__(self, edges: Iterable[Edge], stale_since: datetime.datetime):
        self.edges = tuple(edges)
        self.recent = tuple(edge for edge in self.edges if edge.last_seen >= stale_since)

    @functools.cached_property
    def by_signal(self) -> dict[str, _Seen]:
        return _seen_by(self.recent, operator.attrgetter("signal"))

    @functools.cached_property
    def by_identity(self) -> dict[str, _Seen]:
        return _seen_by(self.recent, operator.attrgetter("identity"))

    @functools.cached_property
    def by_route(self) -> dict[tuple[str, str], _Seen]:
        return _seen_by(self.recent, operator.attrgetter("signal", "destination"))

    @functools.cached_property
    def overall(self) -> _Seen:
        return _seen_by(self.recent, lambda edge: "")[""]


@dataclass(frozen=True)
class Drift:
    """One drift finding as a rule states it; `subject` names what it is about, stably."""

    rule_id: str
    subject: str
    severity: Severity
    message: str
    path: str

    @property
    def fingerprint(self) -> str:
        fingerprint = f"{self.rule_id}|{self.subject}"
        limit = Finding._meta.get_field("fingerprint").max_length
        if len(fingerprint) <= limit:
            return fingerprint
        digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
        return f"{fingerprint[: limit - 18]}|~{digest}"


@dataclass(frozen=True)
class DriftResult:
    """What one evaluation did: features judged, findings opened (new or back), resolved and kept."""

    features: int
    opened: int
    resolved: int
    kept: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(slots=True)
class _Seen:
    count: int = 0
    last_seen: datetime.datetime | None = None
    destinations: set[str] = field(default_factory=set)
    max_ttl: int | None = None

    def add(self, edge: Edge) -> None:
        self.count += edge.count
        self.last_seen = edge.last_seen if self.last_seen is None else max(self.last_seen, edge.last_seen)
        self.destinations.add(edge.destination)
        if edge.ttl_seconds is not None:
            self.max_ttl = edge.ttl_seconds if self.max_ttl is None else max(self.max_ttl, edge.ttl_seconds)


def _seen_by(edges: Iterable[Edge], subject: Callable[[Edge], Any]) -> dict[Any, _Seen]:
    seen: dict[Any, _Seen] = defaultdict(_Seen)
    for edge in edges:
        seen[subject(edge)].add(edge)
    return seen


def _when(seen: _Seen) -> str:
    return f"{seen.count:,} observation{'s' if seen.count != 1 else ''}, last {seen.last_seen:%Y-%m-%d}"


def _short(text: str, limit: int = Finding._meta.get_field("path").max_length) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _listed(names: Iterable[str], limit: int = 10) -> str:
    names = sorted(names)
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


def _sensitivity_label(sensitivity: str | None) -> str:
    return Sensitivity(sensitivity).label.lower() if sensitivity in Sensitivity.values else "unknown"


# --- the drift kinds: one function each -------------------------------------------------------------------


def undeclared_signal(feature: FeatureFacts, observed: Observed, facts: Facts) -> Iterator[Drift]:
    """A signal observed that the approved version does not declare: critical when the signal is high or
    special category, or when it reached a third party (its routes are not judged separately), else a
    warning."""
    approved = feature.approved
    for signal, seen in sorted(observed.by_signal.items()):
        if signal in approved.signals:
            continue
        sensitivity = facts.sensitivity.get(signal)
        third_parties = sorted(seen.destinations & facts.third_parties)
        critical = sensitivity in HIGH_RISK_SENSITIVITIES or bool(third_parties)
        where = _listed(seen.destinations)
        catalogued = "" if sensitivity else " It is not in the signal catalogue either."
        yield Drift(
            UNDECLARED_SIGNAL,
            signal,
            Severity.CRITICAL if critical else Severity.WARNING,
            f"Signal {signal} ({_sensitivity_label(sensitivity)} sensitivity) is used by {feature.key} "
            f"({_when(seen)}; reaching {where}) but approved version {approved.version} does not declare it."
            f"{catalogued} Declare it, with why it is needed, in a new version, or stop sending it.",
            _short(f"signal {signal}"),
        )


def undeclared_identity(feature: FeatureFacts, observed: Observed, facts: Facts) -> Iterator[Drift]:
    """Data fetched through an identity the approved version does not declare (critical)."""
    approved = feature.approved
    for identity, seen in sorted(observed.by_identity.items()):
        if identity in approved.identities:
            continue
        inventory = "" if identity in facts.lifetime_days else " It is not in the identity inventory either."
        yield Drift(
            UNDECLARED_IDENTITY,
            identity,
            Severity.CRITICAL,
            f"Identity {identity} fetched data for {feature.key} ({_when(seen)}) but approved version "
            f"{approved.version} does not declare it.{inventory} Declare it with the scopes it needs in a new "
            "version, or move the fetch to a declared identity.",
            _short(f"identity {identity}"),
        )


def undeclared_destination(feature: FeatureFacts, observed: Observed, facts: Facts) -> Iterator[Drift]:
    """A declared signal reached a destination not declared for it: critical for a third party, else a
    warning. Reaching `response` needs only the signal to be declared (it is the explainability log)."""
    approved = feature.approved
    for (signal, destination), seen in sorted(observed.by_route.items()):
        if signal not in approved.signals or destination == RESPONSE:
            continue  # an undeclared signal is one undeclared-signal finding, whatever it reached
        if destination in approved.routes.get(signal, ()):
            continue
        kind = approved.destination_kinds.get(destination)
        third_party = kind == DestinationKind.THIRD_PARTY or destination in facts.third_parties
        if kind is None:
            declared = "which is not a declared destination at all"
        else:
            declared = f"a declared {DestinationKind(kind).label.lower()} destination that is not declared for it"
        yield Drift(
            UNDECLARED_DESTINATION,
            f"{signal}→{destination}",
            Severity.CRITICAL if third_party else Severity.WARNING,
            f"Signal {signal} reached {destination}{' (third party)' if third_party else ''}, {declared} in "
            f"approved version {approved.version} ({_when(seen)}). Declare the destination for this signal, "
            "with consent and retention applied before it, in a new version, or stop the flow.",
            _short(f"signal {signal} → {destination}"),
        )


def above_approved_tier(feature: FeatureFacts, observed: Observed, facts: Facts) -> Iterator[Drift]:
    """An observed signal more sensitive than the approved tier allows (critical), declared or not."""
    approved = feature.approved
    ceiling = TIER_CEILING.get(approved.tier, 0)
    for signal, seen in sorted(observed.by_signal.items()):
        sensitivity = facts.sensitivity.get(signal)
        if sensitivity is None or SENSITIVITY_RANK[Sensitivity(sensitivity)] <= ceiling:
            continue
        yield Drift(
            ABOVE_APPROVED_TIER,
            signal,
            Severity.CRITICAL,
            f"Signal {signal} is {_sensitivity_label(sensitivity)} sensitivity, above what tier {approved.tier} "
            f"(approved with version {approved.version}) allows, yet {feature.key} uses it ({_when(seen)}). "
            "Stop using it, or file a new version at the tier it needs and have it reviewed.",
            _short(f"signal {signal}"),
        )


def credential_ttl_exceeded(feature: FeatureFacts, observed: Observed, facts: Facts) -> Iterator[Drift]:
    """A credential observed with a lifetime above the identity's declared maximum or the policy maximum
    (a warning)."""
    for identity, seen in sorted(observed.by_identity.items()):
        if seen.max_ttl is None:
            continue
        declared = facts.lifetime_days.get(identity)
        limit_days = min(declared, facts.policy_lifetime_days) if declared else facts.policy_lifetime_days
        if seen.max_ttl <= limit_days * 86_400:
            continue
        allowed = f"policy allows {facts.policy_lifetime_days} days"
        if declared:
            allowed = f"the inventory declares at most {declared} days and {allowed}"
        yield Drift(
            CREDENTIAL_TTL_EXCEEDED,
            identity,
            Severity.WARNING,
            f"Identity {identity} presented a credential valid for {seen.max_ttl / 86_400:,.1f} days for "
            f"{feature.key}; {allowed}. Issue shorter-lived credentials (or rotate to workload identity).",
            _short(f"identity {identity}"),
        )


def unused_declaration(feature: FeatureFacts, observed: Observed, facts: Facts) -> Iterator[Drift]:
    """A declared signal not observed for DRIFT_UNUSED_DAYS while the approval is older than that (info).

    Only for a feature whose telemetry flows (some path seen in that window): silence from a feature that
    reports nothing says nothing about its signals.
    """
    approved = feature.approved
    if approved.approved_at is None or approved.approved_at > facts.unused_since:
        return
    used = {edge.signal for edge in observed.edges if edge.last_seen >= facts.unused_since}
    if not used:
        return
    days = (facts.now - facts.unused_since).days
    for signal in sorted(approved.signals - used):
        yield Drift(
            UNUSED_DECLARATION,
            signal,
            Severity.INFO,
            f"Signal {signal} is declared in approved version {approved.version} but {feature.key} has not used "
            f"it for {days} days: drop it from the next version (minimisation).",
            _short(f"signal {signal}"),
        )


# Judged for every feature with an approved version in force.
APPROVED_RULES = (
    undeclared_signal,
    undeclared_identity,
    undeclared_destination,
    above_approved_tier,
    credential_ttl_exceeded,
    unused_declaration,
)


def shadow_feature(key: str, feature: FeatureFacts | None, observed: Observed, facts: Facts) -> Iterator[Drift]:
    """Observations for a key that is not registered, has no approved version, or is retired (critical)."""
    if not observed.recent:
        return
    seen = observed.overall
    if feature is None:
        state, fix = "is not registered", "register it and have it reviewed, or switch it off"
    elif feature.status == FeatureStatus.RETIRED:
        state, fix = "is retired", "switch it off, or file a new version and have it reviewed"
    else:
        state, fix = "has no approved version", "have a version approved before it runs, or switch it off"
    signals = _listed({edge.signal for edge in observed.recent})
    yield Drift(
        SHADOW_FEATURE,
        key,
        Severity.CRITICAL,
        f"Feature {key} {state} but runs ({_when(seen)}; signals {signals}): {fix}.",
        _short(f"feature {key}"),
    )


def identity_shared(key: str, observed: Observed, facts: Facts) -> Iterator[Drift]:
    """The same identity observed for several features: one warning for each of them."""
    for identity in sorted({edge.identity for edge in observed.recent}):
        others = facts.identity_users.get(identity, frozenset()) - {key}
        if not others:
            continue
        yield Drift(
            IDENTITY_SHARED,
            identity,
            Severity.WARNING,
            f"Identity {identity} is used by {key} and also by {_listed(others)}: one identity for several "
            "purposes breaks purpose binding. Give each feature its own identity.",
            _short(f"identity {identity}"),
        )


def judge(key: str, feature: FeatureFacts | None, observed: Observed, facts: Facts) -> list[Drift]:
    """Every drift finding that holds for one feature key now."""
    found = list(identity_shared(key, observed, facts))
    if feature is None or feature.approved is None or feature.status == FeatureStatus.RETIRED:
        return found + list(shadow_feature(key, feature, observed, facts))
    for rule in APPROVED_RULES:
        found.extend(rule(feature, observed, facts))
    return found


# --- loading -----------------------------------------------------------------------------------------------


def _thresholds(now: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime, int]:
    governance = settings.GOVERNANCE
    stale_since = now - datetime.timedelta(days=int(governance["DRIFT_STALE_DAYS"]))
    unused_since = now - datetime.timedelta(days=int(governance["DRIFT_UNUSED_DAYS"]))
    return stale_since, unused_since, int(governance["MAX_CREDENTIAL_LIFETIME_DAYS"])


def _scope(feature_keys: Iterable[str], stale_since: datetime.datetime) -> set[str]:
    """The keys asked for plus the features sharing an identity with them (their identity-shared
    findings change with ours), in one query."""
    keys = set(feature_keys)
    if not keys:
        return keys
    recent = ObservedEdge.objects.filter(last_seen__gte=stale_since)
    identities = recent.filter(feature_key__in=keys).values("service_identity")
    sharing = recent.filter(service_identity__in=identities).values_list("feature_key", flat=True).distinct()
    return keys | set(sharing)


def _load_features(keys: set[str] | None) -> dict[str, FeatureFacts]:
    # No query here needs its rows in any order: .order_by() drops the models' default sorts.
    features = (Feature.objects.all() if keys is None else Feature.objects.filter(key__in=keys)).order_by()
    rows = list(
        features.values_list(
            "pk",
            "key",
            "status",
            "approved_registration_id",
            "approved_registration__version",
            "approved_registration__approved_tier",
            "approved_registration__approved_at",
        )
    )
    approved_ids = features.filter(approved_registration__isnull=False).values("approved_registration_id")
    signals, identities = defaultdict(set), defaultdict(set)
    kinds, routes = defaultdict(dict), defaultdict(lambda: defaultdict(set))
    for registration_id, signal in (
        DeclaredSignal.objects.filter(registration__in=approved_ids)
        .order_by()
        .values_list("registration_id", "signal__key")
    ):
        signals[registration_id].add(signal)
    for registration_id, identity in (
        DeclaredIdentity.objects.filter(registration__in=approved_ids)
        .order_by()
        .values_list("registration_id", "identity__name")
    ):
        identities[registration_id].add(identity)
    for registration_id, name, kind in (
        DeclaredDestination.objects.filter(registration__in=approved_ids)
        .order_by()
        .values_list("registration_id", "name", "kind")
    ):
        kinds[registration_id][name] = kind
    through = DeclaredDestination.signals.through.objects.filter(declareddestination__registration__in=approved_ids)
    for registration_id, name, signal in through.values_list(
        "declareddestination__registration_id", "declareddestination__name", "signal__key"
    ):
        routes[registration_id][signal].add(name)

    def approved(registration_id, version, tier, approved_at) -> Approved | None:
        if registration_id is None:
            return None
        return Approved(
            version=version,
            tier=tier if tier is not None else 0,
            approved_at=approved_at,
            signals=frozenset(signals[registration_id]),
            identities=frozenset(identities[registration_id]),
            destination_kinds=MappingProxyType(kinds[registration_id]),
            routes=MappingProxyType({s: frozenset(d) for s, d in routes[registration_id].items()}),
        )

    return {
        key: FeatureFacts(pk=pk, key=key, status=status, approved=approved(registration_id, *rest))
        for pk, key, status, registration_id, *rest in rows
    }


def _load_edges(keys: set[str] | None, since: datetime.datetime) -> dict[str, list[Edge]]:
    edges = ObservedEdge.objects.filter(last_seen__gte=since)
    if keys is not None:
        edges = edges.filter(feature_key__in=keys)
    by_key: dict[str, list[Edge]] = defaultdict(list)
    rows = edges.values_list(
        "feature_key", "service_identity", "signal", "destination", "count", "last_seen", "max_credential_ttl_seconds"
    )
    make = Edge._make
    for row in rows:
        by_key[row[0]].append(make(row[1:]))
    return by_key


def _identity_users(
    keys: set[str] | None, edges: Mapping[str, list[Edge]], stale_since: datetime.datetime
) -> dict[str, frozenset[str]]:
    """identity → the feature keys observed using it recently; a sweep has every edge loaded already."""
    users: dict[str, set[str]] = defaultdict(set)
    if keys is None:
        for key, key_edges in edges.items():
            for edge in key_edges:
                if edge.last_seen >= stale_since:
                    users[edge.identity].add(key)
    else:
        identities = {edge.identity for key_edges in edges.values() for edge in key_edges}
        rows = (
            ObservedEdge.objects.filter(last_seen__gte=stale_since, service_identity__in=identities)
            .values_list("service_identity", "feature_key")
            .distinct()
        )
        for identity, key in rows:
            users[identity].add(key)
    return {identity: frozenset(keys) for identity, keys in users.items()}


def _load_facts(now, keys, edges) -> Facts:
    stale_since, unused_since, policy_days = _thresholds(now)
    return Facts(
        now=now,
        stale_since=stale_since,
        unused_since=unused_since,
        sensitivity=dict(Signal.objects.order_by().values_list("key", "sensitivity")),
        lifetime_days=dict(ServiceIdentity.objects.order_by().values_list("name", "credential_max_lifetime_days")),
        policy_lifetime_days=policy_days,
        third_parties=frozenset(
            DeclaredDestination.objects.filter(kind=DestinationKind.THIRD_PARTY)
            .order_by()
            .values_list("name", flat=True)
        ),
        identity_users=_identity_users(keys, edges, stale_since),
    )


# --- storing -----------------------------------------------------------------------------------------------

_STORED = ("pk", "feature_key", "fingerprint", "feature_id", "rule_id", "status", "severity", "message", "path")


@dataclass(frozen=True)
class _Stored:
    pk: int
    feature_key: str
    fingerprint: str
    feature_id: int | None
    rule_id: str
    status: str
    severity: str
    message: str
    path: str


@dataclass
class _Changes:
    opened: dict[str, list[Drift]] = field(default_factory=lambda: defaultdict(list))
    resolved: dict[str, list[_Stored]] = field(default_factory=lambda: defaultdict(list))
    kept: int = 0


def _references(rule_id: str) -> list[str]:
    return [str(reference) for reference in drift_kinds()[rule_id].references]


def _as_finding(key: str, feature_id: int | None, drift: Drift, **extra) -> Finding:
    return Finding(
        feature_id=feature_id,
        feature_key=key,
        registration=None,
        source=FindingSource.DRIFT,
        rule_id=drift.rule_id,
        severity=drift.severity.value,
        message=drift.message,
        path=drift.path,
        references=_references(drift.rule_id),
        fingerprint=drift.fingerprint,
        **extra,
    )


def _store(found: dict[tuple[str, str], tuple[int | None, Drift]], stored: list[_Stored], now) -> _Changes:
    """Write the difference between what holds (`found`) and what is stored (open or accepted); `now` is
    the time of writing, whatever time the evaluation judged at."""
    changes = _Changes()
    current = {(row.feature_key, row.fingerprint): row for row in stored}
    updates: list[Finding] = []
    for subject, (feature_id, drift) in found.items():
        row = current.get(subject)
        if row is None:
            continue
        changes.kept += 1
        same = (row.feature_id, row.severity, row.message, row.path) == (
            feature_id,
            drift.severity.value,
            drift.message,
            drift.path,
        )
        if not same:
            updates.append(
                _as_finding(row.feature_key, feature_id, drift, pk=row.pk, status=row.status, updated_at=now)
            )

    missing = {subject: value for subject, value in found.items() if subject not in current}
    creates: list[Finding] = []
    if missing:
        # A finding that held before, was resolved and holds again is reopened, not duplicated.
        resolved_rows = Finding.objects.filter(
            source=FindingSource.DRIFT,
            status=FindingStatus.RESOLVED,
            feature_key__in={key for key, _ in missing},
            fingerprint__in={fingerprint for _, fingerprint in missing},
        ).values_list("feature_key", "fingerprint", "pk")
        reopen = {(key, fingerprint): pk for key, fingerprint, pk in resolved_rows.order_by("pk")}
        for (key, fingerprint), (feature_id, drift) in missing.items():
            changes.opened[key].append(drift)
            pk = reopen.get((key, fingerprint))
            if pk is None:
                creates.append(_as_finding(key, feature_id, drift))
            else:
                updates.append(
                    _as_finding(
                        key, feature_id, drift, pk=pk, status=FindingStatus.OPEN, resolved_at=None, updated_at=now
                    )
                )

    gone = [row for subject, row in current.items() if subject not in found]
    for row in gone:
        changes.resolved[row.feature_key].append(row)

    if creates:
        Finding.objects.bulk_create(creates, batch_size=1000)
    if updates:
        Finding.objects.bulk_update(
            updates,
            ["feature", "severity", "message", "path", "references", "status", "resolved_at", "updated_at"],
            batch_size=500,
        )
    pks = [row.pk for row in gone]
    for start in range(0, len(pks), RESOLVE_CHUNK):
        Finding.objects.filter(pk__in=pks[start : start + RESOLVE_CHUNK]).update(
            status=FindingStatus.RESOLVED, resolved_at=now, updated_at=now
        )
    return changes


def _audit(changes: _Changes, features: Mapping[str, FeatureFacts]) -> None:
    """One event per feature and direction, listing the findings; shadow keys have no object to point at."""
    for action, by_key in (("drift.opened", changes.opened), ("drift.resolved", changes.resolved)):
        for key in sorted(by_key):
            facts = features.get(key)
            subject = Feature(pk=facts.pk, key=key) if facts else None
            findings = [
                {"rule_id": item.rule_id, "path": item.path, "severity": str(item.severity)}
                for item in sorted(by_key[key], key=lambda item: (item.rule_id, item.path))
            ]
            record(
                actor=None,
                actor_label=ACTOR_LABEL,
                action=action,
                obj=subject,
                payload={"feature": key, "count": len(findings), "findings": findings},
            )


def _lock() -> None:
    # On SQLite every transaction starts with BEGIN IMMEDIATE (see settings): already serialised.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [EVALUATION_LOCK_KEY])


# --- the entry points --------------------------------------------------------------------------------------


@transaction.atomic
def evaluate_drift(feature_keys: Iterable[str] | None, *, now: datetime.datetime | None = None) -> DriftResult:
    """Judge the observed paths of these features (None: every registered and every observed key) against
    their approved versions, and bring their drift findings up to date."""
    now = now or timezone.now()
    _lock()
    stale_since, unused_since, _ = _thresholds(now)
    keys = None if feature_keys is None else _scope(feature_keys, stale_since)
    if keys is not None and not keys:
        return DriftResult(features=0, opened=0, resolved=0, kept=0)

    features = _load_features(keys)
    edges = _load_edges(keys, min(stale_since, unused_since))
    facts = _load_facts(now, keys, edges)
    stored_rows = Finding.objects.filter(source=FindingSource.DRIFT).exclude(status=FindingStatus.RESOLVED).order_by()
    if keys is not None:
        stored_rows = stored_rows.filter(feature_key__in=keys)
    stored = [_Stored(*row) for row in stored_rows.values_list(*_STORED)]

    judged = set(features) | set(edges) | {row.feature_key for row in stored}
    if keys is not None:
        judged &= keys
    found: dict[tuple[str, str], tuple[int | None, Drift]] = {}
    for key in judged:
        observed = Observed(edges.get(key, ()), stale_since)
        feature = features.get(key)
        for drift in judge(key, feature, observed, facts):
            found[(key, drift.fingerprint)] = (feature.pk if feature else None, drift)

    changes = _store(found, stored, timezone.now())
    _audit(changes, features)
    return DriftResult(
        features=len(judged),
        opened=sum(len(items) for items in changes.opened.values()),
        resolved=sum(len(items) for items in changes.resolved.values()),
        kept=changes.kept,
    )


def drift_sweep(feature_keys: Iterable[str] | None = None) -> DriftResult:
    """Fold what ingestion left staged (a web process may have died before folding it), then judge these
    features (None: every registered and every observed key): the periodic sweep, and its command."""
    fold_staged_observations(wait=True)
    return evaluate_drift(feature_keys)
