"""Measure how long a whole-registry evidence pack takes, and how much memory, on this database.

    manage.py benchmark_evidence --features 1000 --versions 5

Builds a synthetic registry with bulk inserts (approved features, each with `--versions` filed versions
declaring 3–5 signals, an identity and two destinations; a decision per version; a few findings and
observed data paths per feature), builds a whole-registry pack of a small part of it (`--small`
features) and then of all of it into a temporary file, prints seconds, peak RSS and the build's
tracemalloc peak for both, and their ratio: a streaming builder's memory does not grow with features.

Everything happens inside one transaction that is rolled back, with a throwaway signing key, so nothing
is left behind. A database that already holds features is refused unless `--force`. Exits non-zero
when the full build misses a target (seconds, peak RSS).
"""

from __future__ import annotations

import datetime
import gc
import random
import resource
import secrets
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test.utils import override_settings
from django.utils import timezone

from features.choices import (
    ConsentBasis,
    DestinationKind,
    FeatureStatus,
    IdentityKind,
    RegistrationStatus,
    Sensitivity,
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
    ServiceIdentity,
    Signal,
)
from governance.accounts.models import Role, Team, User
from governance.drift.models import ObservedDay, ObservedEdge
from governance.evidence.pack import PackScope, build_pack
from governance.policy.severity import Severity

TEAMS = 20
CATALOGUE = 60
IDENTITIES = 200
BATCH = 2000
MB = 1024 * 1024


class Rollback(Exception):
    """Raised to leave the benchmark's transaction without keeping anything."""


@dataclass(frozen=True)
class Run:
    features: int
    seconds: float
    pack_bytes: int
    rss_peak: int  # bytes, the process's peak resident set during the build
    rss_peak_exact: bool  # False when the kernel's peak could not be reset: the peak since start
    maxrss_delta: int  # bytes, how much ru_maxrss rose during the build
    traced_peak: int  # bytes, tracemalloc's peak of the build (a second, traced build)


@dataclass
class Synthetic:
    """The shared part of the synthetic registry: teams, people, catalogue, identities."""

    prefix: str
    rng: random.Random
    teams: list[Team]
    owner: User
    reviewers: list[User]
    signals: list[Signal]
    identities: list[ServiceIdentity]


def _status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's record of this process's peak RSS (Linux: clear_refs 5), so VmHWM is the build's."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


def _shared(prefix: str, seed: int) -> Synthetic:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    teams = Team.objects.bulk_create(
        Team(slug=f"{prefix}-team-{i:02d}", name=f"Benchmark team {prefix} {i:02d}") for i in range(TEAMS)
    )
    owner = User.objects.create(username=f"{prefix}-owner", role=Role.OWNER)
    reviewers = [User.objects.create(username=f"{prefix}-reviewer-{i}", role=Role.REVIEWER) for i in range(2)]

    def sensitivity(i: int) -> str:
        return Sensitivity.HIGH if i % 10 == 9 else (Sensitivity.MEDIUM if i % 2 else Sensitivity.LOW)

    signals = Signal.objects.bulk_create(
        Signal(
            key=f"{prefix}_signal_{i:03d}",
            name=f"Benchmark signal {i}",
            category=SignalCategory.BEHAVIOUR,
            sensitivity=sensitivity(i),
            description="A synthetic signal of the evidence benchmark.",
        )
        for i in range(CATALOGUE)
    )
    identities = ServiceIdentity.objects.bulk_create(
        ServiceIdentity(
            name=f"{prefix}-svc-{i:04d}",
            kind=IdentityKind.WORKLOAD_IDENTITY,
            team=teams[i % TEAMS],
            granted_scopes=["profile:read"],
            credential_max_lifetime_days=30,
            secret_location=f"vault://kv/{prefix}/{i}",
        )
        for i in range(IDENTITIES)
    )
    return Synthetic(prefix, rng, teams, owner, reviewers, signals, identities)


def _populate(data: Synthetic, start: int, count: int, versions: int) -> None:
    """Features start … start+count-1, each approved at its last of `versions` filed versions."""
    rng, prefix, now = data.rng, data.prefix, timezone.now()
    features = Feature.objects.bulk_create(
        (
            Feature(
                key=f"{prefix}-feature-{i:05d}",
                name=f"Benchmark feature {i}",
                team=data.teams[i % TEAMS],
                status=FeatureStatus.APPROVED,
                created_by=data.owner,
            )
            for i in range(start, start + count)
        ),
        batch_size=BATCH,
    )
    rows = []
    for feature in features:
        tier = rng.choice((Tier.BASIC, Tier.ENRICHED, Tier.ENRICHED, Tier.HIGH_TRUST))
        for version in range(1, versions + 1):
            filed = now - datetime.timedelta(days=30 * (versions - version) + 10)
            rows.append(
                Registration(
                    feature=feature,
                    version=version,
                    status=RegistrationStatus.APPROVED if version == versions else RegistrationStatus.SUPERSEDED,
                    explanation="We suggest products from what you browsed on this site.",
                    purpose=f"Benchmark purpose of {feature.key}, version {version}.",
                    requested_tier=tier,
                    consent_basis=ConsentBasis.CONSENT,
                    consent_mechanism="Consent banner purpose 'personalisation'.",
                    retention_days=90,
                    opt_out="Settings > Privacy > Personalisation.",
                    necessity_justification="Fraud screening needs it." if tier == Tier.HIGH_TRUST else "",
                    created_by=data.owner,
                    submitted_by=data.owner,
                    submitted_at=filed,
                    approved_tier=tier,
                    approved_at=filed + datetime.timedelta(days=2),
                    review_due_on=(filed + datetime.timedelta(days=365)).date(),
                )
            )
    registrations = Registration.objects.bulk_create(rows, batch_size=BATCH)
    for feature, latest in zip(features, registrations[versions - 1 :: versions], strict=True):
        feature.approved_registration = latest
    Feature.objects.bulk_update(features, ["approved_registration"], batch_size=BATCH)

    declared_signals, declared_identities, destinations, decisions, routes = [], [], [], [], []
    for registration in registrations:
        chosen = rng.sample(data.signals, rng.randint(3, 5))
        declared_signals += [
            DeclaredSignal(
                registration=registration, signal=s, justification="Needed to rank.", retention_days=90, position=n
            )
            for n, s in enumerate(chosen)
        ]
        declared_identities.append(
            DeclaredIdentity(registration=registration, identity=rng.choice(data.identities), scopes=["profile:read"])
        )
        for n, (name, kind) in enumerate(
            (("ranker", DestinationKind.RANKING), ("analytics", DestinationKind.ANALYTICS))
        ):
            destinations.append(
                DeclaredDestination(registration=registration, name=name, kind=kind, controls_before=True, position=n)
            )
            routes.append(chosen if n == 0 else chosen[:2])
        decisions.append(
            Decision(
                registration=registration,
                reviewer=data.reviewers[registration.version % 2],
                outcome=Outcome.APPROVE,
                tier=registration.approved_tier,
                conditions="Re-review on any new signal.",
                expires_on=registration.review_due_on,
            )
        )
    DeclaredSignal.objects.bulk_create(declared_signals, batch_size=BATCH)
    DeclaredIdentity.objects.bulk_create(declared_identities, batch_size=BATCH)
    destinations = DeclaredDestination.objects.bulk_create(destinations, batch_size=BATCH)
    through = DeclaredDestination.signals.through
    through.objects.bulk_create(
        (
            through(declareddestination=destination, signal=signal)
            for destination, signals in zip(destinations, routes, strict=True)
            for signal in signals
        ),
        batch_size=BATCH * 2,
    )
    Decision.objects.bulk_create(decisions, batch_size=BATCH)
    _findings_and_edges(data, features, registrations[versions - 1 :: versions], now)


def _findings_and_edges(data: Synthetic, features, latest, now) -> None:
    rng, findings, edges = data.rng, [], []
    for feature, registration in zip(features, latest, strict=True):
        findings.append(
            Finding(
                feature=feature,
                feature_key=feature.key,
                registration=registration,
                source=FindingSource.POLICY,
                rule_id="long-lived-secret",
                severity=Severity.WARNING,
                message="The identity's credentials live longer than 90 days: rotate them more often.",
                path="identities[0]",
                references=["OWASP NHI7"],
                fingerprint=f"long-lived-secret:{feature.key}",
                status=FindingStatus.ACCEPTED if rng.random() < 0.3 else FindingStatus.OPEN,
                accepted_until=(now + datetime.timedelta(days=90)).date(),
                accepted_reason="Rotation is scheduled.",
            )
        )
        if rng.random() < 0.2:
            findings.append(
                Finding(
                    feature=feature,
                    feature_key=feature.key,
                    source=FindingSource.DRIFT,
                    rule_id="undeclared-signal",
                    severity=Severity.CRITICAL,
                    message="A signal is observed that the approved version does not declare.",
                    fingerprint=f"undeclared-signal:{feature.key}",
                )
            )
        identity = rng.choice(data.identities).name
        for n in range(3):
            last_seen = now - datetime.timedelta(hours=rng.randrange(1, 240))
            edges.append(
                ObservedEdge(
                    feature_key=feature.key,
                    service_identity=identity,
                    signal=data.signals[(feature.pk + n) % CATALOGUE].key,
                    destination=("ranker", "response", "analytics")[n],
                    environment="production",
                    count=rng.randrange(1, 10_000),
                    first_seen=last_seen - datetime.timedelta(days=20),
                    last_seen=last_seen,
                )
            )
    Finding.objects.bulk_create(findings, batch_size=BATCH)
    edges = ObservedEdge.objects.bulk_create(edges, batch_size=BATCH)
    ObservedDay.objects.bulk_create(
        (
            ObservedDay(edge=edge, day=(edge.last_seen - datetime.timedelta(days=d)).date(), count=edge.count // 2)
            for edge in edges
            for d in range(2)
        ),
        batch_size=BATCH,
    )


def _build(*, traced: bool) -> tuple[float, int, int]:
    """Build a whole-registry pack into a temporary file: (seconds, bytes, tracemalloc peak or 0)."""
    with tempfile.TemporaryFile(prefix="evidence-benchmark-") as destination:
        if traced:
            tracemalloc.start()
        started = time.perf_counter()
        try:
            build_pack(
                scope=PackScope(kind="registry"), as_of=None, destination=destination, progress=lambda d, t: None
            )
            seconds = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1] if traced else 0
        finally:
            if traced:
                tracemalloc.stop()
        return seconds, destination.tell(), peak


def _measure(features: int) -> Run:
    gc.collect()
    exact = _reset_peak_rss()
    maxrss_before = _maxrss_bytes()
    seconds, size, _ = _build(traced=False)
    maxrss_after = _maxrss_bytes()
    hwm = _status_kb("VmHWM")
    rss_peak = hwm * 1024 if exact and hwm is not None else maxrss_after
    gc.collect()
    _, _, traced_peak = _build(traced=True)
    return Run(features, seconds, size, rss_peak, exact, maxrss_after - maxrss_before, traced_peak)


class Command(BaseCommand):
    help = "Time a whole-registry evidence pack and measure its memory on synthetic data (rolled back)."

    def add_arguments(self, parser):
        parser.add_argument("--features", type=int, default=1000)
        parser.add_argument("--versions", type=int, default=5)
        parser.add_argument("--small", type=int, default=250, help="Features of the first, smaller run.")
        parser.add_argument("--max-seconds", type=float, default=60.0)
        parser.add_argument("--max-mb", type=float, default=300.0, help="Peak RSS of the process while building.")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument(
            "--force", action="store_true", help="Run even though the database holds features (still rolled back)."
        )

    def handle(self, *args, features: int, versions: int, small: int, force: bool, **options):
        if features < 1 or versions < 1 or not 0 < small < features:
            raise CommandError("Give --features ≥ 2, --versions ≥ 1 and 0 < --small < --features.")
        if Feature.objects.exists() and not force:
            raise CommandError(
                "This database already holds features: the benchmark adds (and rolls back) thousands of rows. "
                "Run it on an empty database, or pass --force."
            )
        self.stdout.write(f"Database: {connection.vendor}. Building {features} features × {versions} versions…")
        runs: list[Run] = []
        with (
            tempfile.TemporaryDirectory(prefix="evidence-benchmark-") as keys,
            override_settings(EVIDENCE_SIGNING_KEY_FILE=str(Path(keys) / "signing-key.pem")),
        ):
            try:
                with transaction.atomic():
                    runs = self._runs(features, versions, small, options["seed"])
                    raise Rollback
            except Rollback:
                pass
        self._report(runs, options["max_seconds"], options["max_mb"])

    def _runs(self, features: int, versions: int, small: int, seed: int) -> list[Run]:
        data = _shared(f"evb{secrets.token_hex(3)}", seed)
        runs = []
        for start, count in ((0, small), (small, features - small)):
            started = time.perf_counter()
            _populate(data, start, count, versions)
            self.stdout.write(f"  data for {start + count} features written in {time.perf_counter() - started:.1f} s")
            runs.append(_measure(start + count))
            self.stdout.write(self._line(runs[-1]))
        return runs

    @staticmethod
    def _line(run: Run) -> str:
        peak = f"{run.rss_peak / MB:.0f} MB" + ("" if run.rss_peak_exact else " (process peak so far)")
        return (
            f"  {run.features:>6} features: {run.seconds:6.2f} s, pack {run.pack_bytes / MB:.1f} MB, "
            f"peak RSS {peak}, ru_maxrss +{run.maxrss_delta / MB:.0f} MB, "
            f"tracemalloc peak {run.traced_peak / MB:.1f} MB"
        )

    def _report(self, runs: list[Run], max_seconds: float, max_mb: float) -> None:
        small, full = runs
        self.stdout.write(
            f"Memory ratio {full.features}/{small.features} features ({full.features / small.features:.1f}× the data): "
            f"tracemalloc peak {full.traced_peak / max(small.traced_peak, 1):.2f}×, "
            f"peak RSS {full.rss_peak / max(small.rss_peak, 1):.2f}×"
        )
        missed = []
        if full.seconds >= max_seconds:
            missed.append(f"{full.seconds:.1f} s ≥ {max_seconds:.0f} s")
        if full.rss_peak / MB >= max_mb:
            missed.append(f"peak RSS {full.rss_peak / MB:.0f} MB ≥ {max_mb:.0f} MB")
        if missed:
            raise CommandError("Targets missed: " + "; ".join(missed))
        self.stdout.write(
            self.style.SUCCESS(
                f"Targets met: {full.seconds:.1f} s < {max_seconds:.0f} s, peak RSS {full.rss_peak / MB:.0f} MB "
                f"< {max_mb:.0f} MB. Everything was rolled back."
            )
        )
