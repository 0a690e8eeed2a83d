"""A synthetic registry for measuring evidence packs: many features, each with a history of versions,
decisions, findings, drift and observed paths, written with bulk inserts.

Deterministic (a seeded generator). Every name starts with a prefix (`evb` by default); building the same
prefix twice in one database is refused. Per feature: `versions` filed versions (the last one approved and
in force, the earlier ones superseded, one in five features with a version sent back on the way),
`signals` declared signals, one identity, two destinations, three policy findings per version (open,
accepted, resolved), two drift findings, `edges` observed edges with ten daily counts each. One feature
in twenty is retired, through the audit trail as the real service does.

`measure_pack` builds a pack of the whole registry into a temporary file and reports its time and memory.
"""

from __future__ import annotations

import datetime
import random
import resource
import tempfile
import time
import tracemalloc
from dataclasses import dataclass

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from features.choices import (
    ConsentBasis,
    DestinationKind,
    FeatureStatus,
    RegistrationStatus,
    SignalCategory,
    Tier,
)
from features.models import (
    Decision,
    DeclaredDestination,
    DeclaredIdentity,
    DeclaredSignal,
    Feature,
    Finding,
    FindingSource,
    FindingStatus,
    Outcome,
    Registration,
    Signal,
)
from governance.accounts.models import Role, Team, User
from governance.audit.chain import record
from governance.benchmark_fixtures import bulk_approved_features
from governance.drift.models import ObservedDay, ObservedEdge

PREFIX = "evb"
CATALOGUE_SIZE = 60
DAYS_PER_EDGE = 10


class FixtureExists(Exception):
    """The database already holds an evidence benchmark fixture with this prefix."""


@dataclass(frozen=True)
class EvidenceFixture:
    features: int
    versions: int
    findings: int
    edges: int


@transaction.atomic
def build_evidence_fixture(
    features: int = 1000,
    versions: int = 5,
    *,
    signals: int = 12,
    edges: int = 20,
    seed: int = 11,
    prefix: str = PREFIX,
) -> EvidenceFixture:
    """Create the fixture described in the module docstring; every name starts with `prefix`."""
    if Feature.objects.filter(key__startswith=f"{prefix}-").exists():
        raise FixtureExists(f"This database already holds an evidence benchmark fixture named {prefix}.")
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    now = timezone.now()
    start = now - datetime.timedelta(days=400)
    team, _ = Team.objects.get_or_create(slug=f"{prefix}-team", defaults={"name": f"Evidence benchmark {prefix}"})
    owner, _ = User.objects.get_or_create(username=f"{prefix}-owner", defaults={"role": Role.OWNER})
    reviewer, _ = User.objects.get_or_create(username=f"{prefix}-reviewer", defaults={"role": Role.REVIEWER})
    catalogue = Signal.objects.bulk_create(
        Signal(key=f"{prefix}_signal_{i:03d}", name=f"Signal {i}", category=SignalCategory.CONTEXT, sensitivity="low")
        for i in range(CATALOGUE_SIZE)
    )
    identities, feature_rows = bulk_approved_features(prefix, features, team, owner)
    Feature.objects.filter(pk__in=[f.pk for f in feature_rows]).update(created_at=start)

    step = datetime.timedelta(days=300 // max(1, versions))
    registrations = []
    for feature in feature_rows:
        for number in range(1, versions + 1):
            filed = start + step * (number - 1) + datetime.timedelta(hours=1)
            registrations.append(
                Registration(
                    feature=feature,
                    version=number,
                    status=RegistrationStatus.APPROVED if number == versions else RegistrationStatus.SUPERSEDED,
                    explanation=f"We rank products by what you browsed here (version {number}).",
                    purpose="Benchmark.",
                    requested_tier=Tier.ENRICHED,
                    consent_basis=ConsentBasis.CONSENT,
                    consent_mechanism="Consent banner",
                    retention_days=90,
                    opt_out="Settings › Personalisation › off.",
                    created_by=owner,
                    submitted_by=owner,
                    submitted_at=filed,
                    approved_tier=Tier.ENRICHED,
                    approved_at=filed + datetime.timedelta(days=2),
                    review_due_on=(filed + datetime.timedelta(days=365)).date(),
                )
            )
    registrations = Registration.objects.bulk_create(registrations, batch_size=2000)
    latest = {r.feature_id: r for r in registrations if r.version == versions}
    for feature in feature_rows:
        feature.approved_registration = latest[feature.pk]
    Feature.objects.bulk_update(feature_rows, ["approved_registration"], batch_size=1000)

    declared, routes, declared_identities, destinations, decisions, decided = [], [], [], [], [], []
    chosen: dict[int, list[Signal]] = {}
    for registration in registrations:
        picked = rng.sample(catalogue, signals)
        chosen[registration.pk] = picked
        declared += [
            DeclaredSignal(
                registration=registration, signal=s, justification="Benchmark.", retention_days=90, position=n
            )
            for n, s in enumerate(picked)
        ]
        index = (registration.feature_id - feature_rows[0].pk) % features
        declared_identities.append(
            DeclaredIdentity(registration=registration, identity=identities[index], scopes=["profile:read"])
        )
        for n, (name, kind) in enumerate(
            (("ranker", DestinationKind.RANKING), ("analytics", DestinationKind.ANALYTICS))
        ):
            destinations.append(
                DeclaredDestination(registration=registration, name=name, kind=kind, controls_before=True, position=n)
            )
        decisions.append(
            Decision(registration=registration, reviewer=reviewer, outcome=Outcome.APPROVE, tier=Tier.ENRICHED)
        )
        decided.append(registration.approved_at - datetime.timedelta(hours=1))
    DeclaredSignal.objects.bulk_create(declared, batch_size=5000)
    DeclaredIdentity.objects.bulk_create(declared_identities, batch_size=5000)
    destinations = DeclaredDestination.objects.bulk_create(destinations, batch_size=5000)
    through = DeclaredDestination.signals.through
    for destination in destinations:
        picked = chosen[destination.registration_id]
        routes += [
            through(declareddestination=destination, signal=s)
            for s in picked[: len(picked) // (1 + destination.position)]
        ]
    through.objects.bulk_create(routes, batch_size=10000)
    created = Decision.objects.bulk_create(decisions, batch_size=5000)
    for decision, moment in zip(created, decided, strict=True):
        decision.decided_at = moment  # auto_now_add stamped "now": put each decision back in its history
    Decision.objects.bulk_update(created, ["decided_at"], batch_size=1000)

    findings = []
    for registration in registrations:
        for n, status in enumerate((FindingStatus.OPEN, FindingStatus.ACCEPTED, FindingStatus.RESOLVED)):
            findings.append(
                Finding(
                    feature_id=registration.feature_id,
                    feature_key=f"{prefix}-{(registration.feature_id - feature_rows[0].pk) % features:05d}",
                    registration=registration,
                    source=FindingSource.POLICY,
                    rule_id=("retention-missing", "long-lived-secret", "explanation-one-sentence")[n],
                    severity=("warning", "critical", "info")[n],
                    message="A benchmark finding that says what is wrong and how to fix it.",
                    path=f"signals.{n}",
                    references=[
                        "GDPR Art. 5(1)(e) Storage limitation",
                        "OWASP NHI Top 10 2025 NHI7 Long-Lived Secrets",
                    ],
                    fingerprint=f"bench|{n}",
                    status=status,
                    accepted_until=(now + datetime.timedelta(days=30)).date()
                    if status == FindingStatus.ACCEPTED
                    else None,
                    accepted_reason="Benchmark acceptance." if status == FindingStatus.ACCEPTED else "",
                    resolved_at=registration.approved_at if status == FindingStatus.RESOLVED else None,
                )
            )
    for feature in feature_rows:
        for n, rule in enumerate(("undeclared-signal", "undeclared-destination")):
            findings.append(
                Finding(
                    feature_id=feature.pk,
                    feature_key=feature.key,
                    source=FindingSource.DRIFT,
                    rule_id=rule,
                    severity="warning",
                    message="Benchmark drift.",
                    path=f"signal {prefix}_signal_{n:03d}",
                    references=["GDPR Art. 5(1)(c) Data minimisation"],
                    fingerprint=f"drift|{n}",
                )
            )
    Finding.objects.bulk_create(findings, batch_size=5000)
    # Policy findings were found when their version was filed (auto_now_add stamped "now").
    filed_at = Registration.objects.filter(pk=OuterRef("registration_id")).values("submitted_at")
    Finding.objects.filter(registration__feature__in=feature_rows).update(created_at=Subquery(filed_at[:1]))

    edge_rows = []
    for feature in feature_rows:
        for n in range(edges):
            last_seen = now - datetime.timedelta(hours=rng.randrange(1, 240))
            edge_rows.append(
                ObservedEdge(
                    feature_key=feature.key,
                    service_identity=identities[(feature.pk - feature_rows[0].pk) % features].name,
                    signal=catalogue[(n * 7 + feature.pk) % CATALOGUE_SIZE].key,
                    destination=("ranker", "analytics", "response")[n % 3],
                    environment=("production", "staging")[n % 2],
                    count=DAYS_PER_EDGE * 10,
                    first_seen=last_seen - datetime.timedelta(days=DAYS_PER_EDGE),
                    last_seen=last_seen,
                )
            )
    edge_rows = ObservedEdge.objects.bulk_create(edge_rows, batch_size=5000)
    ObservedDay.objects.bulk_create(
        (
            ObservedDay(edge=edge, day=(edge.last_seen - datetime.timedelta(days=d)).date(), count=10)
            for edge in edge_rows
            for d in range(DAYS_PER_EDGE)
        ),
        batch_size=10000,
    )
    for feature in feature_rows[::20]:
        Feature.objects.filter(pk=feature.pk).update(status=FeatureStatus.RETIRED)
        record(actor=owner, action="feature.retired", obj=feature, payload={"previous_status": "approved"})
    return EvidenceFixture(features=features, versions=len(registrations), findings=len(findings), edges=len(edge_rows))


@dataclass(frozen=True)
class PackMeasurement:
    seconds: float
    peak_rss_mb: float  # the process's peak resident set size (includes Python, Django and the libraries)
    python_peak_mb: float | None  # tracemalloc's peak of Python allocations during the build, when traced
    size_mb: float
    feature_count: int


def measure_pack(*, as_of: datetime.datetime | None = None, trace: bool = False) -> PackMeasurement:
    """Build a whole-registry pack into a temporary file and measure it."""
    from governance.evidence.pack import PackScope, build_pack

    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    with tempfile.TemporaryFile() as destination:
        summary = build_pack(scope=PackScope("registry"), as_of=as_of, destination=destination)
        size = destination.tell()
    seconds = time.perf_counter() - started
    python_peak = None
    if trace:
        python_peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    return PackMeasurement(seconds, peak_rss, python_peak, size / 2**20, summary.feature_count)
