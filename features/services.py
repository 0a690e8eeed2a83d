"""Writes to the registry: creating features, saving drafts, submitting, recording outcomes, retiring.

Each function is one business action, called alike by the browser views, the API and commands. They
validate with `features.validation`, keep submitted versions immutable (a change after submission
becomes a new draft version copied forward from the latest one), move the lifecycle only through
`features.lifecycle`, and append an audit event for every change in the same transaction.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.text import slugify

from features.access import can_edit_feature
from features.choices import FeatureStatus, RegistrationStatus, Tier
from features.declaration import Declaration, DeclarationInvalid, declaration_of
from features.findings import policy_findings_store
from features.lifecycle import check_transition
from features.models import (
    Decision,
    DeclaredDestination,
    DeclaredIdentity,
    DeclaredSignal,
    Feature,
    Registration,
    ServiceIdentity,
    Signal,
)
from features.notifications import notify_reviewers_of_submission
from features.secrets import secret_kind, secret_refusal
from features.selectors import catalogue, latest_registration, policy_context_for
from features.validation import validate_declaration
from governance.audit.chain import record
from governance.policy.engine import evaluate


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
    key, name = key.strip(), name.strip()
    for field, value in (("key", key), ("name", name)):
        if kind := secret_kind(value):
            errors[field] = [secret_refusal(kind)]  # checked first: a secret is never looked up nor echoed
    if "key" not in errors and (not key or slugify(key) != key):
        errors["key"] = ["Use a short identifier of lower-case letters, digits, hyphens and underscores."]
    elif "key" not in errors and Feature.objects.filter(key=key).exists():
        errors["key"] = [f"A feature with the key {key} already exists."]
    if not name and "name" not in errors:
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
            feature = Feature.objects.create(key=key, name=name, team=team, created_by=actor)
    except IntegrityError:
        raise DeclarationInvalid({"key": [f"A feature with the key {key} already exists."]}) from None
    registration = Registration.objects.create(feature=feature, version=1, created_by=actor)
    _write_declaration(registration, declaration)
    record(actor=actor, action="feature.created", obj=feature, payload={"team": team.slug, "name": feature.name})
    _record_draft(actor, registration, declaration, created=True)
    return feature


def _record_draft(actor, registration: Registration, declaration: Declaration, *, created: bool) -> None:
    record(
        actor=actor,
        action="registration.created" if created else "registration.edited",
        obj=registration,
        payload={"version": registration.version, "declaration": declaration.as_dict()},
    )


@transaction.atomic
def registration_save_draft(*, actor, feature: Feature, declaration: Declaration) -> Registration:
    """Save the declaration as the feature's draft, starting a new version if the latest is submitted."""
    feature = Feature.objects.select_for_update().get(pk=feature.pk)
    _require_editor(actor, feature)
    if feature.status == FeatureStatus.RETIRED:
        raise RegistrationLocked("This feature is retired; it cannot get new versions.")
    validate_declaration(declaration, catalogue=catalogue(), complete=False)
    registration = latest_registration(feature)
    created = registration is None or not registration.is_draft
    if created:
        registration = Registration.objects.create(
            feature=feature,
            version=(registration.version + 1) if registration else 1,
            based_on=registration,
            created_by=actor,
        )
    _write_declaration(registration, declaration)
    _record_draft(actor, registration, declaration, created=created)
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
    declaration = declaration_of(registration)
    validate_declaration(declaration, catalogue=catalogue(), complete=True)
    check_transition(feature.status, FeatureStatus.IN_REVIEW)
    registration.status = RegistrationStatus.SUBMITTED
    registration.submitted_by = actor
    registration.submitted_at = timezone.now()
    registration.save(update_fields=["status", "submitted_by", "submitted_at", "updated_at"])
    feature.status = FeatureStatus.IN_REVIEW
    feature.save(update_fields=["status", "updated_at"])
    opened, _ = policy_findings_store(registration, evaluate(declaration, policy_context_for(feature)))
    record(
        actor=actor,
        action="registration.submitted",
        obj=registration,
        payload={
            "version": registration.version,
            "requested_tier": registration.requested_tier,
            "findings": sorted(f"{f.severity}:{f.rule_id}:{f.path}" for f in opened),
        },
    )
    if registration.requested_tier == Tier.NONE and not any(f.blocks_approval for f in opened):
        # Tier 0 personalises nothing, so DESIGN.md asks for no approval: it is approved as filed.
        registration_record_outcome(
            actor=None, registration=registration, status=RegistrationStatus.APPROVED, approved_tier=Tier.NONE
        )
    else:
        transaction.on_commit(lambda: notify_reviewers_of_submission(registration))
    return registration


OUTCOME_FEATURE_STATUS = {
    RegistrationStatus.APPROVED: FeatureStatus.APPROVED,
    RegistrationStatus.CHANGES_REQUESTED: FeatureStatus.CHANGES_REQUESTED,
    RegistrationStatus.REJECTED: FeatureStatus.REJECTED,
}


def registration_record_outcome(
    *, actor, registration: Registration, status: str, approved_tier: int | None = None, review_due_on=None
) -> Registration:
    """Move a submitted version and its feature to the outcome of its review.

    The reviews app decides *whether* (segregation of duties, approvals needed); this records *what*.
    An approved version supersedes the one approved before it and becomes the one in force.
    """
    feature = Feature.objects.select_for_update().get(pk=registration.feature_id)
    if registration.status != RegistrationStatus.SUBMITTED:
        raise RegistrationLocked(f"{registration} is {registration.get_status_display().lower()}, not in review.")
    check_transition(feature.status, OUTCOME_FEATURE_STATUS[status])
    registration.status = status
    update = ["status", "updated_at"]
    if status == RegistrationStatus.APPROVED:
        registration.approved_tier = approved_tier
        registration.approved_at = timezone.now()
        registration.review_due_on = review_due_on
        update += ["approved_tier", "approved_at", "review_due_on"]
        if feature.approved_registration_id:
            Registration.objects.filter(pk=feature.approved_registration_id).update(
                status=RegistrationStatus.SUPERSEDED
            )
        feature.approved_registration = registration
    registration.save(update_fields=update)
    feature.status = OUTCOME_FEATURE_STATUS[status]
    feature.save(update_fields=["status", "approved_registration", "updated_at"])
    record(
        actor=actor,
        action=f"registration.{status}",
        obj=registration,
        payload={
            "version": registration.version,
            "approved_tier": approved_tier,
            "review_due_on": review_due_on,
            "decisions": list(Decision.objects.filter(registration=registration).values_list("pk", flat=True)),
        },
    )
    return registration


@transaction.atomic
def feature_retire(*, actor, feature: Feature) -> Feature:
    """Retire a feature that has gone away; its versions stay as the record."""
    feature = Feature.objects.select_for_update().get(pk=feature.pk)
    _require_editor(actor, feature)
    check_transition(feature.status, FeatureStatus.RETIRED)
    previous = feature.status
    feature.status = FeatureStatus.RETIRED
    feature.save(update_fields=["status", "updated_at"])
    record(actor=actor, action="feature.retired", obj=feature, payload={"previous_status": previous})
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


def catalogue_entry_saved(*, actor, entry: Signal | ServiceIdentity, created: bool) -> None:
    """Record an administrator's change to the signal catalogue or identity inventory, then re-check
    the versions in review that declare the entry (in the background)."""
    kind = "signal" if isinstance(entry, Signal) else "identity"
    record(
        actor=actor,
        action=f"{kind}.{'created' if created else 'changed'}",
        obj=entry,
        payload=model_to_dict(entry, exclude=["id"]) | {"team": getattr(entry, "team_id", None)},
    )
    if not created:
        from features.tasks import reevaluate_registrations_in_review

        ids = {"signal_ids": [entry.pk]} if kind == "signal" else {"identity_ids": [entry.pk]}
        transaction.on_commit(lambda: reevaluate_registrations_in_review.delay(**ids))


def catalogue_entry_deleted(*, actor, entry: Signal | ServiceIdentity) -> None:
    kind = "signal" if isinstance(entry, Signal) else "identity"
    record(actor=actor, action=f"{kind}.deleted", obj=entry, payload={"name": str(entry)})


def registrations_reevaluate(*, signal_ids=(), identity_ids=()) -> int:
    """Re-run the policy engine on every version in review that declares one of these entries.

    Stored findings follow the new verdict (new ones open, vanished ones resolve, acceptances stand).
    Returns how many versions were re-checked.
    """
    in_review = Registration.objects.filter(status=RegistrationStatus.SUBMITTED).select_related("feature")
    affected = in_review.filter(declared_signals__signal_id__in=signal_ids) | in_review.filter(
        declared_identities__identity_id__in=identity_ids
    )
    count = 0
    for registration in affected.distinct().prefetch_related(
        "declared_signals__signal", "declared_identities__identity", "declared_destinations__signals"
    ):
        with transaction.atomic():
            findings = evaluate(declaration_of(registration), policy_context_for(registration.feature))
            opened, resolved = policy_findings_store(registration, findings)
            if opened or resolved:
                record(
                    actor=None,
                    actor_label="policy re-evaluation",
                    action="registration.reevaluated",
                    obj=registration,
                    payload={
                        "opened": sorted(f"{f.rule_id}:{f.path}" for f in opened),
                        "resolved": sorted(f"{f.rule_id}:{f.path}" for f in resolved),
                    },
                )
        count += 1
    return count
