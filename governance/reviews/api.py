"""Review endpoints: the queue, decisions on a version, risk acceptance, and the triage of drift findings.

One view per path, thin: the reads are `governance.reviews.selectors` and `features.selectors` (the queue
filters with the page's FilterSet, the findings with the findings list's), the writes `review_decide` and
`finding_accept`, which enforce the role and segregation of duties; their refusals become JSON errors in
`governance.api.errors`. Owners see only their teams' features and findings (anything else is 404); a
token limited to teams sees only those teams. Lists page and order like the registry's (`features.api.base`).
Drift findings live here because triaging them is a reviewer's work (`finding_accept`).
"""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from features.api.base import CursorPage, StableOrdering, StrictFilters, token_teams
from features.api.filtersets import FindingFilterSet
from features.api.outputs import FindingSerializer
from features.api.parsers import JsonBody
from features.api.strict import Choice, DateText, StrictSerializer, Text
from features.choices import Tier
from features.models import Decision, Feature, Finding, FindingSource, Outcome, Registration
from features.selectors import features_visible_to, findings_visible_to
from features.services import NotAllowed
from governance.accounts.models import TokenScope
from governance.api.docs import GovernanceAutoSchema, error_response
from governance.reviews.filtersets import ReviewQueueFilterSet
from governance.reviews.selectors import review_queue
from governance.reviews.services import approvals_required, check_reviewer_independence, finding_accept, review_decide

TEXT_MAX = 5000

# --- who sees what ----------------------------------------------------------------------------------------


def features_for(request) -> QuerySet[Feature]:
    return features_visible_to(request.user, team_ids=token_teams(request))


def findings_for(request) -> QuerySet[Finding]:
    return findings_visible_to(request.user, team_ids=token_teams(request))


def require_review_reader(user) -> None:
    """The queue spans every team: reviewers work it, auditors and administrators read it."""
    if not user.sees_every_team:
        raise NotAllowed("The review queue is for security reviewers, auditors and administrators.")


# --- serializers ------------------------------------------------------------------------------------------


class QueueEntrySerializer(serializers.Serializer):
    feature = serializers.CharField(source="feature.key")
    name = serializers.CharField(source="feature.name")
    team = serializers.CharField(source="feature.team.slug")
    version = serializers.IntegerField()
    requested_tier = serializers.ChoiceField(choices=Tier.choices)
    submitted_at = serializers.DateTimeField()
    submitted_by = serializers.CharField(source="submitted_by.username", allow_null=True)
    open_critical = serializers.IntegerField()
    open_warning = serializers.IntegerField()
    approvals = serializers.IntegerField()
    approvals_required = serializers.SerializerMethodField()

    def get_approvals_required(self, registration) -> int:
        return approvals_required(registration.requested_tier)


class DecisionInputSerializer(StrictSerializer):
    outcome = Choice(choices=Outcome.choices)
    tier = Choice(choices=Tier.choices, required=False, allow_null=True, help_text="The tier approved (approve only).")
    conditions = Text(required=False, allow_blank=True, default="", max_length=TEXT_MAX)
    expires_on = DateText(
        required=False, allow_null=True, help_text="Re-review date of an approval; default: the tier's period."
    )
    comment = Text(
        required=False,
        allow_blank=True,
        default="",
        max_length=TEXT_MAX,
        help_text="Required to request changes or reject.",
    )


class DecisionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    feature = serializers.CharField(source="registration.feature.key")
    version = serializers.IntegerField(source="registration.version")
    reviewer = serializers.CharField(source="reviewer.username")
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    tier = serializers.ChoiceField(choices=Tier.choices, allow_null=True)
    conditions = serializers.CharField(allow_blank=True)
    expires_on = serializers.DateField(allow_null=True)
    comment = serializers.CharField(allow_blank=True)
    decided_at = serializers.DateTimeField()
    registration_status = serializers.CharField(
        source="registration.status", help_text="The version's status once this decision was taken."
    )


class AcceptInputSerializer(StrictSerializer):
    reason = Text(max_length=TEXT_MAX, help_text="Why the risk is acceptable until then.")
    until = DateText(help_text="The last day of the acceptance: after today, within 365 days.")


# --- the queue --------------------------------------------------------------------------------------------


class ReviewQueueApiFilterSet(ReviewQueueFilterSet):
    """The page's filters; a team the API does not know filters to nothing rather than failing (a script's
    list of teams may be older than the registry's)."""

    team = django_filters.CharFilter(field_name="feature__team__slug", help_text="A team's slug.")


@extend_schema_view(get=extend_schema(summary="List the review queue"))
class ReviewQueueApi(generics.ListAPIView):
    """The versions waiting for review, oldest first, with their open findings counted by severity.

    Reviewers, auditors and administrators; owners get 403.
    """

    schema = GovernanceAutoSchema()
    pagination_class = CursorPage
    filter_backends = [StrictFilters, StableOrdering]
    queryset = Registration.objects.none()  # the model, for the schema; get_queryset says which rows
    serializer_class = QueueEntrySerializer
    filterset_class = ReviewQueueApiFilterSet
    ordering_fields = ["submitted_at", "requested_tier", "id"]
    ordering = ["submitted_at", "id"]

    def get_queryset(self):
        require_review_reader(self.request.user)
        queue = review_queue()
        teams = token_teams(self.request)
        return queue if teams is None else queue.filter(feature__team__in=teams)


# --- decisions --------------------------------------------------------------------------------------------


class DecisionFilterSet(django_filters.FilterSet):
    outcome = django_filters.ChoiceFilter(choices=Outcome.choices)

    class Meta:
        model = Decision
        fields = ["outcome"]


@extend_schema_view(get=extend_schema(summary="List the decisions on a version"))
class DecisionsApi(generics.ListAPIView):
    """The decisions on one version of a feature (GET), and taking one (POST).

    Reading: whoever sees the feature. Deciding: security reviewers outside the feature's team who did
    not submit the version (segregation of duties: 403 `segregation_of_duties`); approving over an open
    critical finding is 409 `open_critical_findings` with the findings listed.
    """

    schema = GovernanceAutoSchema()
    pagination_class = CursorPage
    filter_backends = [StrictFilters, StableOrdering]
    required_scope = TokenScope.REVIEWS_WRITE
    parser_classes = [JsonBody]
    queryset = Decision.objects.none()  # the model, for the schema; get_queryset says which rows
    serializer_class = DecisionSerializer
    filterset_class = DecisionFilterSet
    ordering_fields = ["decided_at", "id"]
    ordering = ["decided_at", "id"]

    def registration(self):
        feature = get_object_or_404(features_for(self.request).select_related("team"), key=self.kwargs["key"])
        return get_object_or_404(feature.versions.select_related("feature__team"), version=self.kwargs["version"])

    def get_queryset(self):
        return self.registration().decisions.select_related("reviewer", "registration__feature")

    @extend_schema(
        summary="Decide on a version in review",
        request=DecisionInputSerializer,
        responses={
            201: DecisionSerializer,
            403: error_response("Not a reviewer, or segregation of duties (`segregation_of_duties`)."),
            409: error_response(
                "The version is not in review (`transition_not_allowed`), or critical findings are open "
                "(`open_critical_findings`, listed in `findings`)."
            ),
        },
    )
    def post(self, request, key: str, version: int):
        registration = self.registration()
        # Role and segregation of duties first: a refused reviewer hears why before any field is judged.
        check_reviewer_independence(request.user, registration.feature, registration)
        given = DecisionInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        decision = review_decide(actor=request.user, registration=registration, **given.validated_data)
        decision.registration.refresh_from_db(fields=["status"])
        return Response(DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)


# --- accepting a finding's risk -----------------------------------------------------------------------------


class _AcceptApi(APIView):
    schema = GovernanceAutoSchema()
    required_scope = TokenScope.REVIEWS_WRITE
    parser_classes = [JsonBody]

    def findings(self) -> QuerySet[Finding]:
        return findings_for(self.request)

    @extend_schema(
        request=AcceptInputSerializer,
        responses={
            200: FindingSerializer,
            403: error_response("Not a reviewer, or segregation of duties (`segregation_of_duties`)."),
            409: error_response("The finding is not open (`transition_not_allowed`)."),
        },
    )
    def post(self, request, finding_id: int):
        finding = get_object_or_404(self.findings(), pk=finding_id)
        check_reviewer_independence(request.user, finding.feature, finding.registration)
        given = AcceptInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        finding = finding_accept(actor=request.user, finding=finding, **given.validated_data)
        return Response(FindingSerializer(finding).data)


@extend_schema_view(post=extend_schema(summary="Accept a finding's risk"))
class FindingAcceptApi(_AcceptApi):
    """Accept an open finding's risk until a date, with a reason (it reopens when the date passes).

    Security reviewers outside the feature's team who did not submit the version it is about.
    """


# --- drift findings ---------------------------------------------------------------------------------------


class DriftFindingFilterSet(FindingFilterSet):
    """The findings list's filters, less those that never match a drift finding (it is about no version)."""

    source = None
    version = None

    class Meta(FindingFilterSet.Meta):
        fields = ["feature", "severity", "status", "rule_id"]


def drift_findings_for(request) -> QuerySet[Finding]:
    return findings_for(request).filter(source=FindingSource.DRIFT)


@extend_schema_view(get=extend_schema(summary="List drift findings"))
class DriftFindingsApi(generics.ListAPIView):
    """Drift findings: what runs against what was approved. Newest first.

    Reviewers, auditors and administrators see every team's (and unregistered keys'); owners their teams'.
    """

    schema = GovernanceAutoSchema()
    pagination_class = CursorPage
    filter_backends = [StrictFilters, StableOrdering]
    queryset = Finding.objects.none()  # the model, for the schema; get_queryset says which rows
    serializer_class = FindingSerializer
    filterset_class = DriftFindingFilterSet
    ordering_fields = ["created_at", "updated_at", "id"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return drift_findings_for(self.request).select_related("registration", "accepted_by")


@extend_schema_view(post=extend_schema(summary="Accept a drift finding's risk"))
class DriftFindingAcceptApi(_AcceptApi):
    """Accept an open drift finding's risk until a date, with a reason (drift findings only: others are 404).

    Security reviewers outside the feature's team.
    """

    def findings(self) -> QuerySet[Finding]:
        return drift_findings_for(self.request)
