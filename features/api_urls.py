"""The registry's endpoints under /api/v1/ (namespace "api"): features and versions, findings, the
catalogue and inventory, the policy dry run and the declaration file format's JSON Schema."""

from django.urls import path

from features.api import catalogue, check, findings, registry

urlpatterns = [
    path("features", registry.FeaturesApi.as_view(), name="features-list"),
    path("features/<slug:key>", registry.FeatureApi.as_view(), name="features-detail"),
    path("features/<slug:key>/versions", registry.FeatureVersionsApi.as_view(), name="features-versions"),
    path("features/<slug:key>/versions/<int:version>", registry.FeatureVersionApi.as_view(), name="features-version"),
    path("features/<slug:key>/draft", registry.FeatureDraftApi.as_view(), name="features-draft"),
    path("features/<slug:key>/submit", registry.FeatureSubmitApi.as_view(), name="features-submit"),
    path("features/<slug:key>/diff", registry.FeatureDiffApi.as_view(), name="features-diff"),
    path("features/<slug:key>/retire", registry.FeatureRetireApi.as_view(), name="features-retire"),
    path("features/<slug:key>/findings", findings.FeatureFindingsApi.as_view(), name="features-findings"),
    path("findings", findings.FindingsApi.as_view(), name="findings-list"),
    path("signals", catalogue.SignalsApi.as_view(), name="signals-list"),
    path("signals/<slug:key>", catalogue.SignalApi.as_view(), name="signals-detail"),
    path("identities", catalogue.IdentitiesApi.as_view(), name="identities-list"),
    path("identities/<str:name>", catalogue.IdentityApi.as_view(), name="identities-detail"),
    path("check", check.CheckApi.as_view(), name="check"),
    path("declaration.schema.json", check.DeclarationSchemaApi.as_view(), name="features-declaration-schema"),
]
