"""The signal catalogue and the service-identity inventory: read for everyone, written by administrators.

Writes go through the admin's own form rules (`features.admin.CatalogueForm`: model validation, and the
refusal of secret-shaped values in any text) and end as the admin's do, with `catalogue_entry_saved` /
`catalogue_entry_deleted`: every change is audited, and versions in review that use the entry are
re-checked. Identities hold a *reference* to where their secret lives, never a secret.

Tokens need the scope `catalogue:write` for these writes, which only administrators may put on a token.
"""

from __future__ import annotations

import json

from django.db import transaction
from django.db.models import ProtectedError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ErrorDetail, NotFound, ValidationError
from rest_framework.response import Response

from features.admin import CatalogueForm
from features.api.base import Conflict, RegistryApi
from features.api.filtersets import ServiceIdentityFilterSet, SignalFilterSet
from features.api.strict import INT32_MAX, Choice, DateText, Items, StrictSerializer, Text, WholeNumber
from features.choices import IdentityKind, IdentityStatus, Sensitivity, SignalCategory
from features.models import ServiceIdentity, Signal
from features.secrets import secret_kind, secret_refusal
from features.services import NotAllowed, catalogue_entry_deleted, catalogue_entry_saved
from governance.accounts.models import Team, TokenScope
from governance.api.docs import error_response

CATALOGUE_WRITE = TokenScope.CATALOGUE_WRITE
DESCRIPTION_MAX = 5000
SCOPE_MAX = 200
SCOPES_MAX = 100
ADMINS_ONLY = error_response("Only administrators change the catalogue and the inventory (`not_allowed`).")
IN_USE = error_response("Declared by a registration: it cannot be deleted (`in_use`).")
TAKEN = error_response("Another entry already has this key or name (`errors[].code`: `unique`).")


class Taken(ValidationError):
    """A key or name another entry holds: the request is well formed, the catalogue's state refuses it."""

    status_code = status.HTTP_409_CONFLICT


def require_administrator(user) -> None:
    if not user.is_administrator:
        raise NotAllowed("Only administrators change the signal catalogue and the identity inventory.")


def _field(model, name: str) -> int:
    return model._meta.get_field(name).max_length


# --- the admin's form rules ----------------------------------------------------------------------------------


class SignalForm(CatalogueForm):
    class Meta:
        model = Signal
        fields = ["key", "name", "description", "category", "sensitivity"]


class ServiceIdentityForm(CatalogueForm):
    class Meta:
        model = ServiceIdentity
        fields = [
            "name",
            "kind",
            "team",
            "granted_scopes",
            "credential_max_lifetime_days",
            "last_rotated",
            "secret_location",
            "status",
            "description",
        ]

    def clean(self):
        cleaned = super().clean()
        # The admin shows scopes as JSON text; here they are a list, and each one is text to check.
        for scope in cleaned.get("granted_scopes") or []:
            kind = secret_kind(scope) if isinstance(scope, str) else None
            if kind:
                self.add_error("granted_scopes", secret_refusal(kind))
                break
        return cleaned


def _form_data(instance, fields) -> dict:
    """An entry's current values as the admin form would post them."""
    data = {}
    for name in fields:
        value = getattr(instance, f"{name}_id" if name == "team" else name)
        if name == "granted_scopes":
            value = json.dumps(value)
        elif name == "last_rotated":
            value = value.isoformat() if value else ""
        data[name] = "" if value is None else value
    return data


def _save(request, form_class, given: dict, instance=None):
    """Validate with the admin's form and save as the admin does (audited, in-review versions re-checked)."""
    if instance is not None and not given:
        return instance  # an empty change changes nothing, and is not worth an audit event
    fields = form_class._meta.fields
    data = _form_data(instance, fields) if instance is not None else {}
    for name, value in given.items():
        if name == "team":
            value = _team_pk(value)
        elif name == "granted_scopes":
            value = json.dumps(value)
        elif name == "last_rotated":
            value = value.isoformat() if value else ""
        data[name] = "" if value is None else value
    form = form_class(data=data, instance=instance)
    if not form.is_valid():
        problems = form.errors.get_json_data()
        only_taken = all(error["code"] == "unique" for errors in problems.values() for error in errors)
        raise (Taken if only_taken else ValidationError)(
            {
                (name if name != "__all__" else "non_field_errors"): [
                    ErrorDetail(error["message"], code=error["code"] or "invalid") for error in errors
                ]
                for name, errors in problems.items()
            }
        )
    with transaction.atomic():
        entry = form.save()
        catalogue_entry_saved(actor=request.user, entry=entry, created=instance is None)
    return entry


def _team_pk(slug: str | None) -> int | None:
    if slug in (None, ""):
        return None
    team = Team.objects.filter(slug=slug).values_list("pk", flat=True).first()
    if team is None:
        raise ValidationError({"team": [ErrorDetail("No team has this slug.", code="does_not_exist")]})
    return team


def _delete(request, entry) -> Response:
    try:
        with transaction.atomic():
            catalogue_entry_deleted(actor=request.user, entry=entry)
            entry.delete()
    except ProtectedError:
        raise Conflict(
            f"{entry} is declared by registrations, which are the record: it cannot be deleted.", code="in_use"
        ) from None
    return Response(status=status.HTTP_204_NO_CONTENT)


# --- signals ------------------------------------------------------------------------------------------------


class SignalSerializer(serializers.Serializer):
    key = serializers.SlugField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    category = serializers.ChoiceField(choices=SignalCategory.choices)
    sensitivity = serializers.ChoiceField(choices=Sensitivity.choices)


class SignalInputSerializer(StrictSerializer):
    key = Text(max_length=_field(Signal, "key"), help_text="Stable identifier, e.g. purchase_history.")
    name = Text(max_length=_field(Signal, "name"))
    description = Text(max_length=DESCRIPTION_MAX, allow_blank=True, required=False)
    category = Choice(choices=SignalCategory.choices)
    sensitivity = Choice(choices=Sensitivity.choices)


class SignalsApi(RegistryApi):
    """The signal catalogue (GET, everyone); adding a signal (POST, administrators)."""

    queryset = Signal.objects.none()
    required_scope = CATALOGUE_WRITE
    filterset_class = SignalFilterSet
    ordering_fields = ["key", "name", "category", "sensitivity"]
    ordering = ["key"]

    @extend_schema(summary="List signals", responses={200: SignalSerializer(many=True)})
    def get(self, request):
        return self.page_of(Signal.objects.all(), SignalSerializer)

    @extend_schema(
        summary="Add a signal",
        request=SignalInputSerializer,
        responses={201: SignalSerializer, 403: ADMINS_ONLY, 409: TAKEN},
    )
    def post(self, request):
        require_administrator(request.user)
        given = SignalInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        entry = _save(request, SignalForm, given.validated_data)
        return Response(SignalSerializer(entry).data, status=status.HTTP_201_CREATED)


class SignalApi(RegistryApi):
    """One signal (GET, everyone); changing or deleting it (PATCH, DELETE: administrators).

    A change re-checks the versions in review that declare the signal; a declared signal cannot be deleted.
    """

    required_scope = CATALOGUE_WRITE

    def entry(self, key: str) -> Signal:
        return get_object_or_404(Signal, key=key)

    @extend_schema(summary="Read a signal", responses={200: SignalSerializer})
    def get(self, request, key: str):
        return Response(SignalSerializer(self.entry(key)).data)

    @extend_schema(
        summary="Change a signal",
        request=SignalInputSerializer(partial=True),
        responses={200: SignalSerializer, 403: ADMINS_ONLY, 409: TAKEN},
    )
    def patch(self, request, key: str):
        require_administrator(request.user)
        entry = self.entry(key)
        given = SignalInputSerializer(data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        return Response(SignalSerializer(_save(request, SignalForm, given.validated_data, entry)).data)

    @extend_schema(summary="Delete a signal", responses={204: None, 403: ADMINS_ONLY, 409: IN_USE})
    def delete(self, request, key: str):
        require_administrator(request.user)
        return _delete(request, self.entry(key))


# --- service identities ---------------------------------------------------------------------------------------


class ServiceIdentitySerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=IdentityKind.choices)
    team = serializers.SlugField(source="team.slug", allow_null=True, default=None)
    granted_scopes = serializers.ListField(child=serializers.CharField(), help_text="Scopes it holds today.")
    credential_max_lifetime_days = serializers.IntegerField()
    last_rotated = serializers.DateField(allow_null=True)
    secret_location = serializers.CharField(
        allow_blank=True, help_text="Where the secret lives, e.g. vault://kv/reco/reader: a reference, never a secret."
    )
    status = serializers.ChoiceField(choices=IdentityStatus.choices)
    description = serializers.CharField(allow_blank=True)


class ServiceIdentityInputSerializer(StrictSerializer):
    name = Text(max_length=_field(ServiceIdentity, "name"))
    kind = Choice(choices=IdentityKind.choices)
    team = Text(
        max_length=_field(Team, "slug"),
        allow_null=True,
        required=False,
        help_text="The owning team's slug; null: none.",
    )
    granted_scopes = Items(child=Text(max_length=SCOPE_MAX), max_length=SCOPES_MAX, required=False)
    credential_max_lifetime_days = WholeNumber(min_value=0, max_value=INT32_MAX)
    last_rotated = DateText(allow_null=True, required=False)
    secret_location = Text(
        max_length=_field(ServiceIdentity, "secret_location"),
        allow_blank=True,
        required=False,
        help_text="A reference such as vault://kv/reco/reader; a secret value is refused.",
    )
    status = Choice(choices=IdentityStatus.choices, required=False)
    description = Text(max_length=DESCRIPTION_MAX, allow_blank=True, required=False)


class IdentitiesApi(RegistryApi):
    """The service-identity inventory (GET, everyone); adding an identity (POST, administrators)."""

    queryset = ServiceIdentity.objects.none()
    required_scope = CATALOGUE_WRITE
    filterset_class = ServiceIdentityFilterSet
    ordering_fields = ["name", "kind", "status", "credential_max_lifetime_days", "last_rotated"]
    ordering = ["name"]

    @extend_schema(summary="List service identities", responses={200: ServiceIdentitySerializer(many=True)})
    def get(self, request):
        return self.page_of(ServiceIdentity.objects.select_related("team"), ServiceIdentitySerializer)

    @extend_schema(
        summary="Add a service identity",
        request=ServiceIdentityInputSerializer,
        responses={201: ServiceIdentitySerializer, 403: ADMINS_ONLY, 409: TAKEN},
    )
    def post(self, request):
        require_administrator(request.user)
        given = ServiceIdentityInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        entry = _save(request, ServiceIdentityForm, {"status": IdentityStatus.ACTIVE, **given.validated_data})
        return Response(ServiceIdentitySerializer(entry).data, status=status.HTTP_201_CREATED)


class IdentityApi(RegistryApi):
    """One service identity (GET, everyone); changing or deleting it (PATCH, DELETE: administrators).

    A change re-checks the versions in review that declare the identity; a declared one cannot be deleted.
    """

    required_scope = CATALOGUE_WRITE

    def entry(self, name: str) -> ServiceIdentity:
        if "\x00" in name:
            raise NotFound()
        return get_object_or_404(ServiceIdentity.objects.select_related("team"), name=name)

    @extend_schema(summary="Read a service identity", responses={200: ServiceIdentitySerializer})
    def get(self, request, name: str):
        return Response(ServiceIdentitySerializer(self.entry(name)).data)

    @extend_schema(
        summary="Change a service identity",
        request=ServiceIdentityInputSerializer(partial=True),
        responses={200: ServiceIdentitySerializer, 403: ADMINS_ONLY, 409: TAKEN},
    )
    def patch(self, request, name: str):
        require_administrator(request.user)
        entry = self.entry(name)
        given = ServiceIdentityInputSerializer(data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        entry = _save(request, ServiceIdentityForm, given.validated_data, entry)
        return Response(ServiceIdentitySerializer(entry).data)

    @extend_schema(summary="Delete a service identity", responses={204: None, 403: ADMINS_ONLY, 409: IN_USE})
    def delete(self, request, name: str):
        require_administrator(request.user)
        return _delete(request, self.entry(name))
