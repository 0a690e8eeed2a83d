"""/api/v1/ routes of the evidence app."""

from django.urls import path

from governance.evidence import api

urlpatterns = [
    path("evidence/packs", api.PacksApi.as_view(), name="evidence-packs"),
    path("evidence/packs/<int:pk>", api.PackApi.as_view(), name="evidence-pack"),
    path("evidence/packs/<int:pk>/download", api.PackDownloadApi.as_view(), name="evidence-pack-download"),
    path("evidence/public-key", api.PublicKeyApi.as_view(), name="evidence-public-key"),
]
