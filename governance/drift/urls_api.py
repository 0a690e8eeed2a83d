"""Machine endpoints for telemetry, at fixed paths without a trailing slash (OTLP exporters post to
`/v1/traces` exactly)."""

from django.urls import path

from governance.drift import api

app_name = "drift_api"
urlpatterns = [
    path("api/v1/observations", api.observations, name="observations"),
    path("v1/traces", api.otlp_traces, name="otlp-traces"),
]
