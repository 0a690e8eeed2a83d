"""Features and their versions: list, create, read; save the draft, submit, compare, retire.

The writes are the browser's services (`feature_create`, `registration_save_draft`, `registration_submit`,
`feature_retire`), so segregation of duties, the lifecycle, immutability of submitted versions and the
secret refusal behave identically. Owners see their teams' features only (others are 404, as in the
browser); reviewers, auditors and administrators read every feature and change none; a team-limited
token sees and changes its teams' features only. A declaration may be sent as JSON or as YAML
(`application/yaml`, `text/yaml`): a declaration file kept with the code is a registration.
"""

from __future__ import annotations

import re

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from features.access import can_edit_feature, can_file_features
from features.api.base import (
    CONFLICT,
    TOO_LARGE,
    UNSUPPORTED,
    RegistryApi,
    StableOrdering,
    StrictFilters,
    has_body,
    token_teams,
    within_token_teams,
)
from features.api.declarations import DeclarationSerializer, declaration_from
from features.api.filtersets import VersionFilterSet, text_schema
from features.api.outputs import FindingSerializer, PolicyCheckSerializer, policy_check
from features.api.parsers import JSON_OR_YAML, malformed
from features.api.strict import NO_NUL, StrictSerializer, Text
from features.choices import FeatureStatus, RegistrationStatus, Tier
from features.declaration import Declaration, DeclarationInvalid, declaration_of, parse_declaration
from features.diff import FIELD_LABELS, declaration_diff
from features.filtersets import FeatureFilterSet
from features.models import Feature, Registration
from features.selectors import (
    feature_list,
    feature_versions,
    features_visible_to,
    latest_registration,
    policy_context_for,
    registration_findings,
    registration_with_rows,
)
from features.services import (
    NotAllowed,
    feature_create,
    feature_retire,
    registration_save_draft,
    registration_submit,
)
from governance.accounts.models import Team, TokenScope
from governance.api.docs import error_response
from governance.api.pagination import StablePagination
from governance.policy.engine import evaluate

VERSION_NUMBER = re.compile(r"[0-9]{1,9}")
EDIT_REFUSED = "Only owners in the feature's team can change its registration."
NOT_EDITOR = error_response("Not an owner in the feature's team (`not_allowed`).")


def feature_for(request, key: str) -> Feature:
    """The feature `key` if the caller may see it (through this token), else 404."""
    visible = features_visible_to(request.user, team_ids=token_teams(request))
    return get_object_or_404(visible.select_related("team", "approved_registration"), key=key)


def require_editor(user, feature: Feature) -> None:
    """Refuse before reading the body: a reviewer hears "not allowed", not what is wrong with the body."""
    if not can_edit_feature(user, feature):
        raise NotAllowed(EDIT_REFUSED)


def declaration_body(request) -> Declaration:
    if not has_body(request):
        raise malformed("Send the declaration as the request body (JSON, or YAML with a YAML content type).")
    return declaration_from(request.data)


# --- response shapes --------------------------------------------------------------------------------------


class VersionSummarySerializer(serializers.Serializer):
    version = serializers.IntegerField()
    status = serializers.ChoiceField(choices=RegistrationStatus.choices)
    requested_tier = serializers.ChoiceField(choices=Tier.choices)
    approved_tier = serializers.ChoiceField(choices=Tier.choices, allow_null=True)
    explanation = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(source="created_by.username")
    submitted_at = serializers.DateTimeField(allow_null=True)
    submitted_by = serializers.CharField(source="submitted_by.username", allow_null=True, default=None)
    approved_at = serializers.DateTimeField(allow_null=True)
    review_due_on = serializers.DateField(allow_null=True, help_text="When the approval expires.")


class VersionSerializer(VersionSummarySerializer):
    """One version in full: its declaration (the declaration file format), its stored findings and, for a
    draft, what the policy rules say about it now."""

    based_on = serializers.IntegerField(source="based_on.version", allow_null=True, default=None)
    declaration = DeclarationSerializer()
    findings = FindingSerializer(
        many=True,
        source="stored_findings",
        help_text=f"The version's stored findings, open and worst first (at most {StablePagination.max_page_size}).",
    )
    findings_total = serializers.IntegerField(
        help_text="All of them: page through /features/{key}/findings?version=N for more."
    )
    policy_check = PolicyCheckSerializer(
        allow_null=True, help_text="Drafts only: the policy rules' verdict on the draft as it stands (not stored)."
    )


class FeatureListItemSerializer(serializers.Serializer):
    key = serializers.SlugField()
    name = serializers.CharField()
    team = serializers.SlugField(source="team.slug")
    status = serializers.ChoiceField(choices=FeatureStatus.choices)
    latest_version = serializers.IntegerField(allow_null=True)
    requested_tier = serializers.ChoiceField(
        choices=Tier.choices, allow_null=True, help_text="The latest version's requested tier."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class FeatureSerializer(serializers.Serializer):
    key = serializers.SlugField()
    name = serializers.CharField()
    team = serializers.SlugField(source="team.slug")
    status = serializers.ChoiceField(choices=FeatureStatus.choices)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    current_version = VersionSummarySerializer(allow_null=True, help_text="The latest version (maybe a draft).")
    approved_version = VersionSummarySerializer(allow_null=True, help_text="The version in force, if any.")
    can_edit = serializers.BooleanField(help_text="Whether you may save a draft, submit or retire it.")


def feature_body(request, feature: Feature) -> dict:
    feature.current_version = latest_registration(feature)
    feature.approved_version = feature.approved_registration
    feature.can_edit = can_edit_feature(request.user, feature)
    return FeatureSerializer(feature).data


def version_body(feature: Feature, number: int) -> dict:
    try:
        registration = registration_with_rows(feature, number)
    except Registration.DoesNotExist:
        raise NotFound(f"{feature.key} has no version {number}.") from None
    declaration = declaration_of(registration)
    findings = registration_findings(registration)
    registration.declaration = declaration.as_dict()
    registration.stored_findings = list(findings[: StablePagination.max_page_size])
    registration.findings_total = findings.count()
    registration.policy_check = (
        policy_check(evaluate(declaration, policy_context_for(feature))) if registration.is_draft else None
    )
    return VersionSerializer(registration).data


# --- features -----------------------------------------------------------------------------------------------


class FeatureFilters(StrictFilters):
    """`FeatureFilterSet`, the feature list page's own, with the teams the caller may filter by."""

    def get_filterset_kwargs(self, request, queryset, view):
        return {**super().get_filterset_kwargs(request, queryset, view), "teams": view.filterable_teams()}


class FeatureCreateSerializer(StrictSerializer):
    key = Text(max_length=Feature._meta.get_field("key").max_length, allow_blank=True, help_text="e.g. reco-home")
    name = Text(max_length=Feature._meta.get_field("name").max_length, allow_blank=True)
    team = Text(max_length=Team._meta.get_field("slug").max_length, allow_blank=True, help_text="One of your teams.")
    declaration = DeclarationSerializer(
        required=False, help_text="The first version's declaration (the declaration file format); may be partial."
    )


def _in_body(path: str) -> str:
    """Where a declaration problem sits in the create body (the declaration is nested under `declaration`)."""
    if path in ("key", "name", "team"):
        return path
    return f"declaration.{path}" if path else "declaration"


class FeaturesApi(RegistryApi):
    """The features you may see (GET); registering a new one with its first draft version (POST)."""

    queryset = Feature.objects.none()  # the real one depends on who asks: see get()
    required_scope = TokenScope.REGISTRATIONS_WRITE
    parser_classes = JSON_OR_YAML
    filter_backends = [FeatureFilters, StableOrdering]
    filterset_class = FeatureFilterSet
    ordering_fields = ["key", "name", "status", "created_at", "updated_at"]
    ordering = ["name"]

    def filterable_teams(self) -> QuerySet[Team]:
        user = self.request.user
        teams = Team.objects.all() if user.sees_every_team else user.teams.all()
        limited = token_teams(self.request)
        return (teams if limited is None else teams.filter(pk__in=limited)).order_by("name")

    @extend_schema(
        summary="List features",
        description="Owners see their teams' features; reviewers, auditors and administrators all. "
        "Filters are the feature list page's.",
        parameters=[
            OpenApiParameter("q", {"type": "string", "pattern": NO_NUL}, description="Search in names and keys."),
            OpenApiParameter(
                "team",
                {**text_schema(Team._meta.get_field("slug").max_length), "pattern": r"^[-a-zA-Z0-9_]+$"},
                description="A team's slug: one of yours (owners), any (others). Another is a 400.",
            ),
        ],
        responses={200: FeatureListItemSerializer(many=True)},
    )
    def get(self, request):
        return self.page_of(within_token_teams(feature_list(request.user), request), FeatureListItemSerializer)

    @extend_schema(
        summary="Register a feature",
        description="Feature owners, for one of their teams. Creates the feature and its version 1 as a draft.",
        request=FeatureCreateSerializer,
        responses={201: FeatureSerializer, 403: NOT_EDITOR, 413: TOO_LARGE, 415: UNSUPPORTED},
    )
    def post(self, request):
        if not can_file_features(request.user):
            raise NotAllowed("Only feature owners in a team can register features.")
        given = FeatureCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        try:
            feature = feature_create(
                actor=request.user,
                key=data["key"],
                name=data["name"],
                team=self._team(data["team"]),
                declaration=parse_declaration(data.get("declaration") or {}),
            )
        except DeclarationInvalid as invalid:
            raise DeclarationInvalid({_in_body(path): messages for path, messages in invalid.errors.items()}) from None
        location = reverse("api:features-detail", kwargs={"key": feature.key})
        return Response(feature_body(request, feature), status=status.HTTP_201_CREATED, headers={"Location": location})

    def _team(self, slug: str) -> Team | None:
        team = self.request.user.teams.filter(slug=slug).first()
        limited = token_teams(self.request)
        if team is not None and limited is not None and team.pk not in limited:
            raise DeclarationInvalid({"team": ["This API token may act only for the teams it is limited to."]})
        return team


class FeatureApi(RegistryApi):
    """One feature: its status, its latest version and the version in force."""

    @extend_schema(summary="Read a feature", responses={200: FeatureSerializer})
    def get(self, request, key: str):
        return Response(feature_body(request, feature_for(request, key)))


# --- versions -----------------------------------------------------------------------------------------------


class FeatureVersionsApi(RegistryApi):
    """A feature's versions, newest first."""

    queryset = Registration.objects.none()
    filterset_class = VersionFilterSet
    ordering_fields = ["version", "created_at"]
    ordering = ["-version"]

    @extend_schema(summary="List a feature's versions", responses={200: VersionSummarySerializer(many=True)})
    def get(self, request, key: str):
        return self.page_of(feature_versions(feature_for(request, key)), VersionSummarySerializer)


class FeatureVersionApi(RegistryApi):
    """One version: its declaration in the declaration file format, its status and its stored findings."""

    @extend_schema(summary="Read a version", responses={200: VersionSerializer})
    def get(self, request, key: str, version: int):
        return Response(version_body(feature_for(request, key), version))


class FeatureDraftApi(RegistryApi):
    """Save the feature's draft: the body is the whole declaration, in the declaration file format.

    Replaces the current draft, or starts a new version (copied forward) when the latest one is
    submitted. Owners in the feature's team. A draft may be incomplete, but what it says must be well
    formed; a secret-shaped value is refused (400) and never stored or echoed.
    """

    required_scope = TokenScope.REGISTRATIONS_WRITE
    parser_classes = JSON_OR_YAML
    body_required_for = ("PUT",)

    @extend_schema(
        summary="Save the draft",
        request=DeclarationSerializer,
        responses={
            200: VersionSerializer,
            403: NOT_EDITOR,
            409: error_response("The feature is retired (`registration_locked`)."),
            413: TOO_LARGE,
            415: UNSUPPORTED,
        },
    )
    def put(self, request, key: str):
        feature = feature_for(request, key)
        require_editor(request.user, feature)
        registration = registration_save_draft(
            actor=request.user, feature=feature, declaration=declaration_body(request)
        )
        return Response(version_body(feature, registration.version))


class FeatureSubmitApi(RegistryApi):
    """Submit the draft for review; with a body, save it as the draft first (in one step, or neither).

    The version becomes immutable and its policy findings are stored. Owners in the feature's team.
    """

    required_scope = TokenScope.REGISTRATIONS_WRITE
    parser_classes = JSON_OR_YAML

    @extend_schema(
        summary="Submit for review",
        request=DeclarationSerializer,
        responses={200: VersionSerializer, 403: NOT_EDITOR, 409: CONFLICT, 413: TOO_LARGE, 415: UNSUPPORTED},
    )
    def post(self, request, key: str):
        feature = feature_for(request, key)
        require_editor(request.user, feature)
        declaration = declaration_from(request.data) if has_body(request) else None
        registration = registration_submit(actor=request.user, feature=feature, declaration=declaration)
        return Response(version_body(feature, registration.version))


class FeatureRetireApi(RegistryApi):
    """Retire a feature that has gone away; its versions stay as the record. Owners in the feature's team."""

    required_scope = TokenScope.REGISTRATIONS_WRITE

    @extend_schema(
        summary="Retire a feature",
        request=None,
        responses={200: FeatureSerializer, 403: NOT_EDITOR, 409: error_response("Already retired, or in review.")},
    )
    def post(self, request, key: str):
        feature = feature_for(request, key)
        require_editor(request.user, feature)
        return Response(feature_body(request, feature_retire(actor=request.user, feature=feature)))


# --- diff ---------------------------------------------------------------------------------------------------

FIELD_NAMES = {label: name for name, label in FIELD_LABELS.items()}


class FieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The declaration field, e.g. requested_tier.")
    label = serializers.CharField()
    before = serializers.CharField(help_text="As a person reads it; — when empty.")
    after = serializers.CharField()


class RowChangeSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The signal, identity or destination.")
    change = serializers.ChoiceField(choices=[("added", "added"), ("removed", "removed"), ("changed", "changed")])
    details = serializers.ListField(child=serializers.CharField())


class DiffSerializer(serializers.Serializer):
    to = serializers.IntegerField()
    fields = FieldChangeSerializer(many=True)
    signals = RowChangeSerializer(many=True)
    identities = RowChangeSerializer(many=True)
    destinations = RowChangeSerializer(many=True)

    def get_fields(self):
        fields = super().get_fields()
        # "from" is a Python keyword, so it cannot be declared above.
        return {"from": serializers.IntegerField(allow_null=True, help_text="null: compared with nothing."), **fields}


def _version_param(request, name: str, numbers: list[int]) -> int | None:
    """A version number from the query: not a number is a 400, a version the feature lacks a 404."""
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    if not VERSION_NUMBER.fullmatch(raw) or int(raw) < 1:
        raise ValidationError({name: ["Give a version number (1, 2, …)."]})
    if int(raw) not in numbers:
        raise NotFound(f"There is no version {int(raw)} ({name}); this feature has versions 1 to {numbers[-1]}.")
    return int(raw)


VERSION_PARAMETER = {"type": "integer", "minimum": 1, "maximum": 999_999_999}


class FeatureDiffApi(RegistryApi):
    """What changed between two versions (default: the latest against the one before it)."""

    @extend_schema(
        summary="Compare two versions",
        parameters=[
            OpenApiParameter("from", VERSION_PARAMETER, description="The earlier version (default: the one before)."),
            OpenApiParameter("to", VERSION_PARAMETER, description="The later version (default: the latest)."),
        ],
        responses={200: DiffSerializer},
    )
    def get(self, request, key: str):
        feature = feature_for(request, key)
        numbers = list(feature.versions.order_by("version").values_list("version", flat=True))
        if not numbers:
            raise NotFound(f"{feature.key} has no versions yet.")
        after = _version_param(request, "to", numbers) or numbers[-1]
        before = _version_param(request, "from", numbers) or max((n for n in numbers if n < after), default=after)
        diff = declaration_diff(
            declaration_of(registration_with_rows(feature, before)) if before != after else None,
            declaration_of(registration_with_rows(feature, after)),
        )
        body = {
            "from": before if before != after else None,
            "to": after,
            "fields": [
                {
                    "field": FIELD_NAMES[change.label],
                    "label": change.label,
                    "before": change.before,
                    "after": change.after,
                }
                for change in diff.fields
            ],
            **{
                section: [{"key": row.key, "change": row.change, "details": list(row.details)} for row in rows]
                for section, rows in (
                    ("signals", diff.signals),
                    ("identities", diff.identities),
                    ("destinations", diff.destinations),
                )
            },
        }
        return Response(DiffSerializer(body).data)
