"""Reads of the registry: lists, the latest version, the catalogue a declaration may refer to."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from django.conf import settings
from django.db.models import Case, F, OuterRef, Q, QuerySet, Subquery, Value, When

from features.access import visible_features
from features.choices import FeatureStatus, RegistrationStatus
from features.declaration import split_scopes
from features.models import (
    DeclaredIdentity,
    Feature,
    Finding,
    FindingStatus,
    Registration,
    ServiceIdentity,
    Signal,
)
from features.validation import Catalogue
from governance.policy.context import IdentityFacts, PolicyContext, SignalFacts
from governance.policy.severity import Severity


def catalogue() -> Catalogue:
    return Catalogue(
        signals=frozenset(Signal.objects.values_list("key", flat=True)),
        identities=frozenset(ServiceIdentity.objects.values_list("name", flat=True)),
    )


def latest_registration(feature: Feature) -> Registration | None:
    return feature.versions.order_by("-version").first()


def registration_with_rows(feature: Feature, version: int) -> Registration:
    """One version with its declared rows loaded in a fixed number of queries."""
    return (
        feature.versions.prefetch_related(
            "declared_signals__signal", "declared_identities__identity", "declared_destinations__signals"
        )
        .select_related("created_by", "submitted_by")
        .get(version=version)
    )


def feature_list(user) -> QuerySet[Feature]:
    """The features `user` may see, with their latest version's number and requested tier."""
    latest = Registration.objects.filter(feature=OuterRef("pk")).order_by("-version")
    return (
        visible_features(user)
        .select_related("team")
        .annotate(
            latest_version=Subquery(latest.values("version")[:1]),
            requested_tier=Subquery(latest.values("requested_tier")[:1]),
        )
        .order_by("name", "pk")
    )


def feature_list_rows(features: QuerySet[Feature]) -> QuerySet[dict]:
    """The feature list page's columns of `features` (a page of a `feature_list`): plain rows, not model
    instances — the page is read on every visit, and a row's instances cost more than its columns."""
    return features.values(
        "key", "name", "status", "updated_at", "latest_version", "requested_tier", team_name=F("team__name")
    )


def feature_findings(feature: Feature, registration: Registration | None) -> list[Finding]:
    """Findings an owner acts on: the current version's, and the feature's own that are not resolved."""
    about_version = Q(registration=registration) if registration else Q(pk__in=[])
    about_feature = Q(feature=feature) & ~Q(status=FindingStatus.RESOLVED) & ~Q(source="policy")
    return list(
        Finding.objects.filter(about_version | about_feature)
        .select_related("accepted_by")
        .order_by("status", "severity", "rule_id", "path")
    )


# The versions that count as a feature's current use of an identity: what it has filed for review
# or had approved. Drafts are not filed yet; superseded, rejected and sent-back versions no longer hold.
LIVE_VERSION_STATUSES = (RegistrationStatus.SUBMITTED, RegistrationStatus.APPROVED)


def policy_context_for(feature: Feature | str | None = None) -> PolicyContext:
    """The facts the policy engine judges a declaration of `feature` against, read in three queries:
    the catalogue, the inventory, which other features use each identity (and for what), thresholds."""
    feature_key = feature.key if isinstance(feature, Feature) else feature
    governance = settings.GOVERNANCE
    signals = {
        key: SignalFacts(key=key, sensitivity=sensitivity, category=category)
        for key, sensitivity, category in Signal.objects.values_list("key", "sensitivity", "category")
    }
    identities = {
        row[0]: IdentityFacts(
            name=row[0],
            kind=row[1],
            team=row[2],
            granted_scopes=split_scopes(row[3]),
            credential_max_lifetime_days=row[4],
            secret_location=row[5] or "",
            status=row[6],
        )
        for row in ServiceIdentity.objects.values_list(
            "name",
            "kind",
            "team__name",
            "granted_scopes",
            "credential_max_lifetime_days",
            "secret_location",
            "status",
        )
    }
    return PolicyContext(
        signals=MappingProxyType(signals),
        identities=MappingProxyType(identities),
        identity_uses=_identity_uses(exclude_feature=feature_key),
        feature_key=feature_key,
        max_credential_lifetime_days=int(governance["MAX_CREDENTIAL_LIFETIME_DAYS"]),
        secret_manager_schemes=tuple(governance["SECRET_MANAGER_SCHEMES"]),
        explanation_max_chars=int(governance["EXPLANATION_MAX_CHARS"]),
    )


def _identity_uses(*, exclude_feature: str | None) -> Mapping[str, Mapping[str, str]]:
    """Which other live features declare each identity, with their purposes (one query)."""
    latest_live = (
        Registration.objects.filter(feature=OuterRef("feature"), status__in=LIVE_VERSION_STATUSES)
        .order_by("-version")
        .values("pk")[:1]
    )
    current = Registration.objects.filter(pk=Subquery(latest_live)).exclude(feature__status=FeatureStatus.RETIRED)
    if exclude_feature:
        current = current.exclude(feature__key=exclude_feature)
    uses: dict[str, dict[str, str]] = {}
    rows = DeclaredIdentity.objects.filter(registration__in=current).values_list(
        "identity__name", "registration__feature__key", "registration__purpose"
    )
    for identity, feature_key, purpose in rows.order_by("identity__name", "registration__feature__key"):
        uses.setdefault(identity, {})[feature_key] = purpose
    return MappingProxyType({name: MappingProxyType(by_feature) for name, by_feature in uses.items()})


# --- reads for the API ---------------------------------------------------------------------------------


def features_visible_to(user, *, team_ids: Iterable[int] | None = None) -> QuerySet[Feature]:
    """The features `user` may see; with `team_ids` (a team-limited API token) only those teams' ones."""
    features = visible_features(user)
    return features if team_ids is None else features.filter(team__in=team_ids)


def findings_visible_to(user, *, team_ids: Iterable[int] | None = None) -> QuerySet[Finding]:
    """Findings about the features `user` may see; findings about unregistered keys (drift's shadow
    features) only for those who read every team, and not through a team-limited token."""
    about = Q(feature__in=features_visible_to(user, team_ids=team_ids))
    if user.sees_every_team and team_ids is None:
        about |= Q(feature__isnull=True)
    return Finding.objects.filter(about)


SEVERITY_ORDER = Case(
    When(severity=Severity.CRITICAL, then=Value(0)),
    When(severity=Severity.WARNING, then=Value(1)),
    default=Value(2),
)


def registration_findings(registration: Registration) -> QuerySet[Finding]:
    """The findings stored about one version: open ones first, then the worst first."""
    return (
        Finding.objects.filter(registration=registration)
        .select_related("registration", "accepted_by")
        .order_by("status", SEVERITY_ORDER, "rule_id", "path", "pk")
    )


def feature_versions(feature: Feature) -> QuerySet[Registration]:
    """A feature's versions, each with the people who made and submitted it."""
    return feature.versions.select_related("created_by", "submitted_by", "based_on")
