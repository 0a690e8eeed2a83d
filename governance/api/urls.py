"""/api/v1/: every app's endpoints under one versioned prefix, plus the OpenAPI schema and its docs.

(The telemetry endpoints, /api/v1/observations and the OTLP /v1/traces, are plain Django views on the
hot path: see governance/drift/urls_api.py.)
"""

from django.urls import include, path, re_path
from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import IsAuthenticated

from governance.api import docs

urlpatterns = [
    path("", include("features.api_urls")),
    path("", include("governance.reviews.api_urls")),
    path("", include("governance.evidence.api_urls")),
    path("", include("governance.audit.api_urls")),
    # The schema is JSON unless asked for YAML (?format=yaml, or Accept: application/vnd.oai.openapi).
    path(
        "schema",
        SpectacularAPIView.as_view(
            permission_classes=[IsAuthenticated],
            renderer_classes=[OpenApiJsonRenderer, OpenApiJsonRenderer2, OpenApiYamlRenderer, OpenApiYamlRenderer2],
        ),
        name="schema",
    ),
    path("docs", docs.SwaggerPage.as_view(), name="docs"),
    path("redoc", docs.RedocPage.as_view(), name="redoc"),
    # Last: whatever no route above answers is a JSON 404 (Django's would be an HTML page). A regex, not
    # `<path:…>`, so that a path holding a newline or other control character is caught too.
    re_path(r"^(?P<unknown>[\s\S]+)\Z", docs.unknown_endpoint, name="unknown-endpoint"),
]
