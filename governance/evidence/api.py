"""Evidence endpoints: ask for a pack, follow its build, download the ZIP, fetch the key that verifies it.

Thin: `evidence_request` and `evidence_download` decide who may export (auditors, reviewers,
administrators: a pack spans teams) and audit every request and download. Requesting a pack is an
evidence read, so a token needs `evidence:read` for every method here; a token limited to teams may
only ask for (and see) packs of those teams or their features.
"""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, generics, serializers, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from features.api.base import CursorPage, StableOrdering, StrictFilters, token_teams
from features.api.parsers import JsonBody
from features.api.strict import Choice, DateText, StrictSerializer, Text
from features.models import Feature
from features.services import NotAllowed
from governance.accounts.models import Team, TokenScope
from governance.api.docs import GovernanceAutoSchema, error_response
from governance.evidence.models import EvidencePack, PackStatus, ScopeKind
from governance.evidence.pack import PackScope
from governance.evidence.selectors import packs_visible_to
from governance.evidence.services import (
    EvidenceRequestInvalid,
    PackUnavailable,
    can_export_evidence,
    evidence_download,
    evidence_request,
)
from governance.evidence.signing import public_key_pem

PEM = "application/x-pem-file"
ZIP = "application/zip"


class PackUnavailableConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "pack_unavailable"
    default_detail = "The pack is not ready to download."


class FirstRendererNegotiation(BaseContentNegotiation):
    """Files answer in their own type whatever the Accept header says; errors answer in JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


# --- who sees what ----------------------------------------------------------------------------------------


def require_exporter(user) -> None:
    if not can_export_evidence(user):
        raise NotAllowed("Evidence packs span every team: auditors, reviewers and administrators only.")


def packs_for(request) -> QuerySet[EvidencePack]:
    """The packs the person may see; with a team-limited token, only packs of those teams or their features."""
    packs = packs_visible_to(request.user)
    teams = token_teams(request)
    if teams is None:
        return packs
    slugs = Team.objects.filter(pk__in=teams).values("slug")
    keys = Feature.objects.filter(team__in=teams).values("key")
    return packs.filter(
        Q(scope_kind=ScopeKind.TEAM, scope_key__in=slugs) | Q(scope_kind=ScopeKind.FEATURE, scope_key__in=keys)
    )


def require_scope_within_token(request, scope: PackScope) -> None:
    teams = token_teams(request)
    if teams is None:
        return
    within = (scope.kind == ScopeKind.TEAM and Team.objects.filter(pk__in=teams, slug=scope.key).exists()) or (
        scope.kind == ScopeKind.FEATURE and Feature.objects.filter(team__in=teams, key=scope.key).exists()
    )
    if not within:
        raise NotAllowed("This token is limited to some teams: ask for a pack of one of them or of their features.")


# --- serializers ------------------------------------------------------------------------------------------


class ScopeSerializer(StrictSerializer):
    kind = Choice(choices=ScopeKind.choices)
    key = Text(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=80,
        help_text="The team's slug or the feature's key; empty for the whole registry.",
    )


class PackRequestSerializer(StrictSerializer):
    scope = ScopeSerializer()
    as_of = DateText(
        required=False,
        allow_null=True,
        help_text="The registry as it stood at the end of this day (today or earlier); null: now.",
    )


class ProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField(source="progress_done")
    total = serializers.IntegerField(source="progress_total")
    percent = serializers.IntegerField()


class PackSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    scope = serializers.SerializerMethodField()
    as_of = serializers.DateField(allow_null=True)
    status = serializers.ChoiceField(choices=PackStatus.choices)
    progress = ProgressSerializer(source="*")
    requested_by = serializers.CharField(source="requested_by.username")
    requested_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    feature_count = serializers.IntegerField(allow_null=True)
    size = serializers.IntegerField(allow_null=True, help_text="Bytes of the ZIP.")
    sha256 = serializers.CharField(allow_blank=True, help_text="SHA-256 of the ZIP, hex; empty until ready.")
    error = serializers.CharField(allow_blank=True)
    url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField(help_text="Present when the pack is ready.")

    @extend_schema_field(ScopeSerializer)
    def get_scope(self, pack) -> dict:
        return {"kind": pack.scope_kind, "key": pack.scope_key or None}

    def get_url(self, pack) -> str:
        return reverse("api:evidence-pack", kwargs={"pk": pack.pk})

    def get_download_url(self, pack) -> str | None:
        return reverse("api:evidence-pack-download", kwargs={"pk": pack.pk}) if pack.is_ready else None


# --- the views --------------------------------------------------------------------------------------------


class PackFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=PackStatus.choices)
    scope = django_filters.ChoiceFilter(field_name="scope_kind", choices=ScopeKind.choices)

    class Meta:
        model = EvidencePack
        fields = ["status", "scope"]


@extend_schema_view(get=extend_schema(summary="List evidence packs"))
class PacksApi(generics.ListAPIView):
    """Evidence packs, newest first (GET), and asking for one (POST: 202, built in the background).

    Auditors, reviewers and administrators; owners get 403. Follow `url` until `status` is `ready`, then
    fetch `download_url`.
    """

    schema = GovernanceAutoSchema()
    pagination_class = CursorPage
    filter_backends = [StrictFilters, StableOrdering]
    read_scope = required_scope = TokenScope.EVIDENCE_READ
    parser_classes = [JsonBody]
    queryset = EvidencePack.objects.none()  # the model, for the schema; get_queryset says which rows
    serializer_class = PackSerializer
    filterset_class = PackFilterSet
    ordering_fields = ["requested_at", "id"]
    ordering = ["-requested_at", "-id"]

    def get_queryset(self):
        require_exporter(self.request.user)
        return packs_for(self.request)

    @extend_schema(
        summary="Ask for an evidence pack",
        request=PackRequestSerializer,
        responses={202: PackSerializer},
    )
    def post(self, request):
        require_exporter(request.user)
        given = PackRequestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        scope = given.validated_data["scope"]
        pack_scope = PackScope(kind=scope["kind"], key=(scope.get("key") or "").strip() or None)
        require_scope_within_token(request, pack_scope)
        try:
            pack = evidence_request(actor=request.user, scope=pack_scope, as_of=given.validated_data.get("as_of"))
        except EvidenceRequestInvalid as invalid:
            raise exceptions.ValidationError(_request_errors(invalid.errors)) from invalid
        pack.refresh_from_db()  # in-process tasks may have built it already
        body = PackSerializer(pack).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


def _request_errors(errors: dict[str, list[str]]) -> dict:
    """`evidence_request`'s fields (team, feature, scope, as_of) → this endpoint's (scope.key, scope.kind…)."""
    spelled = {"team": ("scope", "key"), "feature": ("scope", "key"), "scope": ("scope", "kind")}
    result: dict = {}
    for field, messages in errors.items():
        if field in spelled:
            outer, inner = spelled[field]
            result.setdefault(outer, {}).setdefault(inner, []).extend(messages)
        else:
            result.setdefault(field, []).extend(messages)
    return result


@extend_schema_view(get=extend_schema(summary="Read an evidence pack"))
class PackApi(generics.RetrieveAPIView):
    """One evidence pack: its status, its progress (done of total), and, once ready, its SHA-256 and download URL.

    Auditors, reviewers and administrators.
    """

    schema = GovernanceAutoSchema()
    read_scope = TokenScope.EVIDENCE_READ
    queryset = EvidencePack.objects.none()  # the model, for the schema; get_queryset says which rows
    serializer_class = PackSerializer

    def get_queryset(self):
        require_exporter(self.request.user)
        return packs_for(self.request)


class PackDownloadApi(APIView):
    """The pack's ZIP; refused with 409 `pack_unavailable` until it is ready (or if its file no longer matches).

    Auditors, reviewers and administrators; every download is audited.
    """

    schema = GovernanceAutoSchema()
    read_scope = TokenScope.EVIDENCE_READ
    content_negotiation_class = FirstRendererNegotiation

    @extend_schema(
        summary="Download an evidence pack",
        responses={
            (200, ZIP): OpenApiResponse(OpenApiTypes.BINARY, description="The signed evidence pack."),
            409: error_response("The pack is not ready, or its file is missing or altered (`pack_unavailable`)."),
        },
    )
    def get(self, request, pk: int):
        require_exporter(request.user)
        pack = get_object_or_404(packs_for(request), pk=pk)
        try:
            path = evidence_download(actor=request.user, pack=pack)
        except PackUnavailable as unavailable:
            raise PackUnavailableConflict(str(unavailable)) from unavailable
        response = FileResponse(path.open("rb"), as_attachment=True, filename=pack.file_name, content_type=ZIP)
        response["Cache-Control"] = "no-store"
        return response


class PublicKeyApi(APIView):
    """The Ed25519 public key (PEM) that verifies the signature of every pack's manifest, offline.

    Anyone authenticated.
    """

    schema = GovernanceAutoSchema()
    content_negotiation_class = FirstRendererNegotiation

    @extend_schema(
        summary="The key that verifies evidence packs",
        responses={(200, PEM): OpenApiResponse(OpenApiTypes.STR, description="SubjectPublicKeyInfo PEM.")},
    )
    def get(self, request):
        response = HttpResponse(public_key_pem(), content_type=PEM)
        response["Content-Disposition"] = 'inline; filename="evidence-public-key.pem"'
        return response
