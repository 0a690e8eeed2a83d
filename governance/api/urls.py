"""/api/v1/: every app's endpoints under one versioned prefix.

(The telemetry endpoints, /api/v1/observations and the OTLP /v1/traces, are plain Django views on the
hot path: see governance/drift/urls_api.py.)
"""

from django.urls import include, path

urlpatterns = [
    path("", include("features.api_urls")),
    path("", include("governance.reviews.api_urls")),
    path("", include("governance.evidence.api_urls")),
    path("", include("governance.audit.api_urls")),
]
