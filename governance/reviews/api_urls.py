"""/api/v1/ routes of the reviews app: the queue, decisions, risk acceptance, drift triage."""

from django.urls import path

from governance.reviews import api

urlpatterns = [
    path("reviews/queue", api.ReviewQueueApi.as_view(), name="reviews-queue"),
    path(
        "features/<slug:key>/versions/<int:version>/decisions",
        api.DecisionsApi.as_view(),
        name="reviews-decisions",
    ),
    path("findings/<int:finding_id>/accept", api.FindingAcceptApi.as_view(), name="reviews-finding-accept"),
    path("drift/findings", api.DriftFindingsApi.as_view(), name="drift-findings-list"),
    path("drift/findings/<int:finding_id>/accept", api.DriftFindingAcceptApi.as_view(), name="drift-findings-accept"),
]
