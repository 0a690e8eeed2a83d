"""Synthetic registries for measuring drift evaluation: many approved features, their declarations and
observed edges, written with bulk inserts (a few seconds for the default size).

Deterministic (a seeded generator): two builds of the same size give the same data. Every name starts
with a prefix (`bench` by default), so a fixture can sit beside other data; building the same prefix twice
in one database is refused.
About one feature in ten drifts (an undeclared signal, a third-party route, an undeclared identity, a
long-lived credential), a few keys are unregistered ("shadow") and the rest match their declarations.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from features.choices import (
    ConsentBasis,
    DestinationKind,
    RegistrationStatus,
    Sensitivity,
    SignalCategory,
    Tier,
)
from features.models import (
    DeclaredDestination,
    DeclaredIdentity,
    DeclaredSignal,
    Feature,
    Registration,
    Signal,
)
from governance.accounts.models import Role, Team, User
from governance.benchmark_fixtures import bulk_approved_features
from governance.drift.models import ObservedEdge

PREFIX = "bench"  # the default prefix of every name
CATALOGUE_SIZE = 200
SHADOW_KEYS = 5
SHADOW_EDGES = 10  # per shadow key
ENVIRONMENTS = ("production", "staging", "canary", "eu", "us")


@dataclass(frozen=True)
class DriftFixture:
    """What was built."""

    features: int
    declared_signals: int
    edges: int
    drifting_features: int
    shadow_keys: int


class FixtureExists(Exception):
    """The database already holds a drift benchmark fixture."""


def _catalogue(prefix: str) -> list[Signal]:
    # Mostly low and medium, one in ten high: tier 2 features declare only the low and medium ones.
    def sensitivity(i: int) -> str:
        return Sensitivity.HIGH if i % 10 == 9 else (Sensitivity.MEDIUM if i % 2 else Sensitivity.LOW)

    signals = [
        Signal(
            key=f"{prefix}_signal_{i:03d}",
            name=f"Benchmark signal {i}",
            category=SignalCategory.BEHAVIOUR,
            sensitivity=sensitivity(i),
        )
        for i in range(CATALOGUE_SIZE)
    ]
    return Signal.objects.bulk_create(signals)


@transaction.atomic
def build_drift_fixture(
    features: int = 1000,
    signals_per_feature: int = 20,
    edges: int = 50_000,
    *,
    seed: int = 7,
    prefix: str = PREFIX,
) -> DriftFixture:
    """Create `features` approved features declaring `signals_per_feature` signals each, and `edges`
    observed edges over them (plus a few shadow keys), all seen within the last ten days. Every name
    starts with `prefix`."""
    if Feature.objects.filter(key__startswith=f"{prefix}-").exists():
        raise FixtureExists(f"This database already holds a drift benchmark fixture named {prefix}.")
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    now = timezone.now()
    approved_at = now - datetime.timedelta(days=60)
    team, _ = Team.objects.get_or_create(slug=f"{prefix}-team", defaults={"name": f"Benchmark team {prefix}"})
    owner, _ = User.objects.get_or_create(username=f"{prefix}-owner", defaults={"role": Role.OWNER})

    catalogue = _catalogue(prefix)
    usable = {
        Tier.ENRICHED: [s for s in catalogue if s.sensitivity != Sensitivity.HIGH],
        Tier.HIGH_TRUST: catalogue,
    }
    identities, feature_rows = bulk_approved_features(prefix, features, team, owner)
    tiers = [Tier.HIGH_TRUST if i % 10 == 0 else Tier.ENRICHED for i in range(features)]
    registrations = Registration.objects.bulk_create(
        [
            Registration(
                feature=feature,
                version=1,
                status=RegistrationStatus.APPROVED,
                explanation="We suggest products from what you browsed here.",
                purpose="Benchmark.",
                requested_tier=tier,
                consent_basis=ConsentBasis.CONSENT,
                retention_days=90,
                created_by=owner,
                submitted_by=owner,
                submitted_at=approved_at,
                approved_tier=tier,
                approved_at=approved_at,
            )
            for feature, tier in zip(feature_rows, tiers, strict=True)
        ]
    )
    for feature, registration in zip(feature_rows, registrations, strict=True):
        feature.approved_registration = registration
    Feature.objects.bulk_update(feature_rows, ["approved_registration"], batch_size=500)

    declared: list[list[Signal]] = [
        rng.sample(usable[tier], min(signals_per_feature, len(usable[tier]))) for tier in tiers
    ]
    DeclaredSignal.objects.bulk_create(
        [
            DeclaredSignal(registration=registration, signal=signal, justification="Benchmark.", position=n)
            for registration, signals in zip(registrations, declared, strict=True)
            for n, signal in enumerate(signals)
        ],
        batch_size=2000,
    )
    DeclaredIdentity.objects.bulk_create(
        [
            DeclaredIdentity(registration=registration, identity=identity, scopes=["profile:read"])
            for registration, identity in zip(registrations, identities, strict=True)
        ]
    )
    destinations = DeclaredDestination.objects.bulk_create(
        [
            DeclaredDestination(registration=registration, name=name, kind=kind, controls_before=True, position=n)
            for registration in registrations
            for n, (name, kind) in enumerate(
                (("ranker", DestinationKind.RANKING), ("analytics", DestinationKind.ANALYTICS))
            )
        ]
    )
    through = DeclaredDestination.signals.through
    routes = []
    for index, signals in enumerate(declared):
        ranker, analytics = destinations[2 * index], destinations[2 * index + 1]
        routes += [through(declareddestination=ranker, signal=signal) for signal in signals]
        routes += [through(declareddestination=analytics, signal=signal) for signal in signals[: len(signals) // 2]]
    through.objects.bulk_create(routes, batch_size=5000)

    observed, drifting = _edges(rng, now, prefix, feature_rows, identities, declared, catalogue, edges)
    ObservedEdge.objects.bulk_create(observed, batch_size=5000)
    return DriftFixture(
        features=features,
        declared_signals=sum(len(signals) for signals in declared),
        edges=len(observed),
        drifting_features=drifting,
        shadow_keys=len({edge.feature_key for edge in observed if "-shadow-" in edge.feature_key}),
    )


def _edges(
    rng, now, prefix, feature_rows, identities, declared, catalogue, total: int
) -> tuple[list[ObservedEdge], int]:
    """`total` edges: each feature's declared paths, then one drifting path for one feature in ten."""
    shadow_edges = min(SHADOW_KEYS * SHADOW_EDGES, total // 10)
    base, extra = divmod(total - shadow_edges, len(feature_rows))
    edges, drifting = [], 0

    def edge(key, identity, signal, destination, environment, ttl=3600) -> ObservedEdge:
        last_seen = now - datetime.timedelta(minutes=rng.randrange(0, 10 * 24 * 60))
        return ObservedEdge(
            feature_key=key,
            service_identity=identity,
            signal=signal,
            destination=destination,
            environment=environment,
            count=rng.randrange(1, 5000),
            first_seen=last_seen - datetime.timedelta(days=20),
            last_seen=last_seen,
            max_credential_ttl_seconds=ttl,
        )

    for index, (feature, identity, signals) in enumerate(zip(feature_rows, identities, declared, strict=True)):
        per_feature = base + (1 if index < extra else 0)
        paths = [(s.key, "ranker") for s in signals]
        paths += [(s.key, "response") for s in signals]
        paths += [(s.key, "analytics") for s in signals[: len(signals) // 2]]
        if per_feature > len(paths) * len(ENVIRONMENTS):
            raise ValueError(f"{total} edges over {len(feature_rows)} features need more signals per feature.")
        rows = [
            edge(feature.key, identity.name, signal, destination, ENVIRONMENTS[n // len(paths) % len(ENVIRONMENTS)])
            for n, (signal, destination) in enumerate(paths[n % len(paths)] for n in range(per_feature))
        ]
        kind = index % 10
        if kind < 4 and rows:
            drifting += 1
            last = rows[-1]
            if kind == 0:
                last.signal = next(s.key for s in reversed(catalogue) if s not in signals)
            elif kind == 1:
                last.destination = "partner-exchange"
            elif kind == 2:
                last.service_identity = f"{prefix}-undeclared-{index}"
            else:
                last.max_credential_ttl_seconds = 400 * 86_400
        edges += rows
    for n in range(shadow_edges):
        key, signal = f"{prefix}-shadow-{n // SHADOW_EDGES}", catalogue[n % SHADOW_EDGES].key
        edges.append(edge(key, f"{prefix}-shadow-svc", signal, "ranker", "production"))
    return edges, drifting
