"""Reads of the registry: lists, the latest version, the catalogue a declaration may refer to."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from features.access import visible_features
from features.models import Feature, Registration, ServiceIdentity, Signal
from features.validation import Catalogue


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
