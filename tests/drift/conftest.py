"""Shared fixtures for the drift tests. Append new fixtures; several test modules rely on these."""

import datetime

import pytest
from django.utils import timezone

from governance.accounts.models import TokenScope
from governance.accounts.tokens import token_issue

# --- ingestion (tests/drift/test_ingest*.py, tests/drift/test_otlp*.py) --------------------------------


def rfc3339(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def issue_token(administrator):
    """Issue an API token (by default: observations:write, any team, 30 days); returns IssuedToken."""

    def issue(*, scopes=(TokenScope.OBSERVATIONS_WRITE,), teams=(), expires_in_days=30, name="reco-otel-collector"):
        return token_issue(
            actor=administrator, name=name, scopes=list(scopes), teams=list(teams), expires_in_days=expires_in_days
        )

    return issue


@pytest.fixture
def shipper(issue_token):
    """A telemetry shipper's token: observations:write for any team."""
    return issue_token()


@pytest.fixture
def auth(shipper):
    """The Authorization header of `shipper`, for the test client's `headers=`."""
    return {"Authorization": f"Bearer {shipper.plaintext}"}


@pytest.fixture
def observation():
    """Build one observation dict: a valid default, with any field overridden (None removes it)."""

    def build(**overrides):
        item = {
            "feature": "reco-locale",
            "service_identity": "reco-reader",
            "signal": "locale",
            "destination": "reco-ranker",
            "environment": "production",
            "observed_at": rfc3339(timezone.now() - datetime.timedelta(minutes=1)),
        }
        item.update(overrides)
        return {key: value for key, value in item.items() if value is not None}

    return build


# --- drift evaluation and pages (tests/drift/test_evaluate*.py, test_pages*.py, test_sweep*.py) -----------

# The catalogue the evaluation tests use: signal → sensitivity, identity → credential max lifetime (days).
DRIFT_SIGNALS = {
    "locale": "low",
    "language": "low",
    "purchase_history": "medium",
    "precise_location": "high",
    "health_condition": "special",
}
DRIFT_IDENTITIES = {"reco-reader": 30, "reco-writer": 30, "legacy-key": 365}


@pytest.fixture
def drift_catalogue(db):
    from tests.factories import ServiceIdentityFactory, SignalFactory

    for key, sensitivity in DRIFT_SIGNALS.items():
        SignalFactory(key=key, sensitivity=sensitivity)
    for name, days in DRIFT_IDENTITIES.items():
        ServiceIdentityFactory(name=name, credential_max_lifetime_days=days)


@pytest.fixture
def approve_feature(drift_catalogue, team):
    """Give a feature (new, or the one passed) an approved version declaring exactly what is asked for:
    `destinations` maps a name to (kind, the signals declared for it). Returns the feature."""
    from features.choices import FeatureStatus, RegistrationStatus
    from features.models import (
        DeclaredDestination,
        DeclaredIdentity,
        DeclaredSignal,
        Registration,
        ServiceIdentity,
        Signal,
    )
    from tests.factories import FeatureFactory, RegistrationFactory

    def approve(
        key="reco-locale",
        *,
        feature=None,
        tier=1,
        signals=("locale",),
        identities=("reco-reader",),
        destinations=None,
        approved_days_ago=60,
    ):
        feature = feature or FeatureFactory(key=key, team=team)
        if destinations is None:
            destinations = {"reco-ranker": ("ranking", tuple(signals))}
        version = (feature.versions.order_by("-version").values_list("version", flat=True).first() or 0) + 1
        registration = RegistrationFactory(
            feature=feature,
            version=version,
            status=RegistrationStatus.APPROVED,
            requested_tier=tier,
            approved_tier=tier,
            approved_at=timezone.now() - datetime.timedelta(days=approved_days_ago),
        )
        for position, signal in enumerate(signals):
            DeclaredSignal.objects.create(
                registration=registration, signal=Signal.objects.get(key=signal), position=position
            )
        for position, name in enumerate(identities):
            DeclaredIdentity.objects.create(
                registration=registration, identity=ServiceIdentity.objects.get(name=name), position=position
            )
        for position, (name, (kind, routed)) in enumerate(destinations.items()):
            destination = DeclaredDestination.objects.create(
                registration=registration, name=name, kind=kind, position=position
            )
            destination.signals.set(Signal.objects.filter(key__in=routed))
        if feature.approved_registration_id:
            Registration.objects.filter(pk=feature.approved_registration_id).update(
                status=RegistrationStatus.SUPERSEDED
            )
        feature.approved_registration = registration
        feature.status = FeatureStatus.APPROVED
        feature.save(update_fields=["approved_registration", "status", "updated_at"])
        return feature

    return approve


@pytest.fixture
def observe_edge(db):
    """Record one observed path directly (as ingestion would have folded it), with its daily count."""
    from governance.drift.models import ObservedDay, ObservedEdge

    def observe(
        key="reco-locale",
        signal="locale",
        *,
        identity="reco-reader",
        destination="reco-ranker",
        environment="production",
        count=10,
        days_ago=0,
        ttl_seconds=None,
    ):
        last_seen = timezone.now() - datetime.timedelta(days=days_ago)
        edge = ObservedEdge.objects.create(
            feature_key=key,
            service_identity=identity,
            signal=signal,
            destination=destination,
            environment=environment,
            count=count,
            first_seen=last_seen,
            last_seen=last_seen,
            max_credential_ttl_seconds=ttl_seconds,
        )
        ObservedDay.objects.create(edge=edge, day=last_seen.date(), count=count)
        return edge

    return observe
