"""Writes to the registry: creating features, saving drafts, submitting, retiring.

Each function is one business action, called alike by the browser views, the API and commands. They
validate with `features.validation`, keep submitted versions immutable (a change after submission
becomes a new draft version copied forward from the latest one) and move the lifecycle only through
`features.lifecycle`.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from features.access import can_edit_feature
from features.choices import FeatureStatus, RegistrationStatus
from features.declaration import Declaration, DeclarationInvalid, declaration_of
from features.lifecycle import check_transition
from features.models import (
    DeclaredDestination,
    DeclaredIdentity,
    DeclaredSignal,
    Feature,
    Registration,
    ServiceIdentity,
    Signal,
)
from features.selectors import catalogue, latest_registration
from features.validation import validate_declaration


class NotAllowed(Exception):
    """The actor may not do this to this feature (views answer 403 or 404)."""


class RegistrationLocked(Exception):
    """A submitted version is immutable; changes go into a new draft version."""


def _require_editor(actor, feature: Feature) -> None:
    if not can_edit_feature(actor, feature):
        raise NotAllowed("Only owners in the feature's team can change its registration.")


@transaction.atomic
def feature_create(*, actor, key: str, name: str, team, declaration: Declaration) -> Feature:
    """Create a feature for one of the actor's teams, with its first draft version."""
    errors: dict[str, list[str]] = {}
    key = key.strip()
    if not key or slugify(key) != key:
        errors["key"] = ["Use a short identifier of lower-case letters, digits, hyphens and underscores."]
    elif Feature.objects.filter(key=key).exists():
        errors["key"] = [f"A feature with the key {key} already exists."]
    if not name.strip():
        errors["name"] = ["Give the feature a name."]
    if team is None or not actor.is_owner or not actor.teams.filter(pk=team.pk).exists():
        errors["team"] = ["Choose one of your teams."]
    try:
        validate_declaration(declaration, catalogue=catalogue(), complete=False)
    except DeclarationInvalid as invalid:
        errors.update(invalid.errors)
    if errors:
        raise DeclarationInvalid(errors)
    try:
        with transaction.atomic():
            feature = Feature.objects.create(key=key, name=name.strip(), team=team, created_by=actor)
    except IntegrityError:
        raise DeclarationInvalid({"key": [f"A feature with the key {key} already exists."]}) from None
    registration = Registration.objects.create(feature=feature, version=1, created_by=actor)
    _write_declaration(registration, declaration)
    return feature


@transaction.atomic
def registration_save_draft(*, actor, feature: Feature, declaration: Declaration) -> Registration:
    """Save the declaration as the feature's draft, starting a new version if the latest is submitted."""
    feature = Feature.objects.select_for_update().get(pk=feature.pk)
    _require_editor(actor, feature)
    if feature.status == FeatureStatus.RETIRED:
        raise RegistrationLocked("This feature is retired; it cannot get new versions.")
    validate_declaration(declaration, catalogue=catalogue(), complete=False)
    registration = latest_registration(feature)
    if registration is None or not registration.is_draft:
        registration = Registration.objects.create(
            feature=feature,
            version=(registration.version + 1) if registration else 1,
            based_on=registration,
            created_by=actor,
        )
    _write_declaration(registration, declaration)
    return registration


@transaction.atomic
def registration_submit(*, actor, feature: Feature, declaration: Declaration | None = None) -> Registration:
    """Submit the feature's draft for review (saving `declaration` first if given); it becomes immutable."""
    if declaration is not None:
        registration_save_draft(actor=actor, feature=feature, declaration=declaration)
    feature = Feature.objects.select_for_update().get(pk=feature.pk)
    _require_editor(actor, feature)
    registration = latest_registration(feature)
    if registration is None or not registration.is_draft:
        raise RegistrationLocked("There is no draft to submit: edit the feature to start a new version.")
    validate_declaration(declaration_of(registration), catalogue=catalogue(), complete=True)
    check_transition(feature.status, FeatureStatus.IN_REVIEW)
    registration.status = RegistrationStatus.SUBMITTED
    registration.submitted_by = actor
    registration.submitted_at = timezone.now()
    registration.save(update_fields=["status", "submitted_by", "submitted_at", "updated_at"])
    feature.status = FeatureStatus.IN_REVIEW
    feature.save(update_fields=["status", "updated_at"])
    return registration


@transaction.atomic
def feature_retire(*, actor, feature: Feature) -> Feature:
    """Retire a feature that has gone away; its versions stay as the record."""
    feature = Feature.objects.select_for_update().get(pk=feature.pk)
    _require_editor(actor, feature)
    check_transition(feature.status, FeatureStatus.RETIRED)
    feature.status = FeatureStatus.RETIRED
    feature.save(update_fields=["status", "updated_at"])
    return feature


def _write_declaration(registration: Registration, declaration: Declaration) -> None:
    """Replace the draft's fields and rows with the declaration (drafts have no row identity to keep)."""
    if not registration.is_draft:
        raise RegistrationLocked(f"{registration} is submitted and cannot change.")
    for name in (
        "explanation",
        "purpose",
        "requested_tier",
        "consent_basis",
        "consent_mechanism",
        "retention_days",
        "opt_out",
        "high_trust_domain",
        "necessity_justification",
    ):
        setattr(registration, name, getattr(declaration, name))
    registration.save()

    # Validation guarantees every destination's signals are among the declared ones.
    signal_ids = dict(
        Signal.objects.filter(key__in=[row.signal for row in declaration.signals]).values_list("key", "id")
    )
    identity_ids = dict(
        ServiceIdentity.objects.filter(name__in=[row.identity for row in declaration.identities]).values_list(
            "name", "id"
        )
    )
    registration.declared_signals.all().delete()
    registration.declared_identities.all().delete()
    registration.declared_destinations.all().delete()
    DeclaredSignal.objects.bulk_create(
        DeclaredSignal(
            registration=registration,
            signal_id=signal_ids[row.signal],
            origin=row.origin,
            justification=row.justification,
            retention_days=row.retention_days,
            position=position,
        )
        for position, row in enumerate(declaration.signals)
    )
    DeclaredIdentity.objects.bulk_create(
        DeclaredIdentity(
            registration=registration,
            identity_id=identity_ids[row.identity],
            scopes=list(row.scopes),
            access=row.access,
            position=position,
        )
        for position, row in enumerate(declaration.identities)
    )
    destinations = DeclaredDestination.objects.bulk_create(
        DeclaredDestination(
            registration=registration,
            name=row.name,
            kind=row.kind,
            controls_before=row.controls_before,
            position=position,
        )
        for position, row in enumerate(declaration.destinations)
    )
    Flow = DeclaredDestination.signals.through
    Flow.objects.bulk_create(
        Flow(declareddestination_id=destination.pk, signal_id=signal_ids[key])
        for destination, row in zip(destinations, declaration.destinations, strict=True)
        for key in row.signals
    )
