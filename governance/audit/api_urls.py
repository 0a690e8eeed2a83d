"""/api/v1/ routes of the audit app."""

from django.urls import path

from governance.audit import api

urlpatterns = [
    path("audit/verification", api.VerificationApi.as_view(), name="audit-verification"),
]
