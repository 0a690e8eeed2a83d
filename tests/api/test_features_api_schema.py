"""The OpenAPI schema documents every registry endpoint: its scope, its bodies, its error answers."""

import pytest

pytestmark = pytest.mark.django_db

REGISTRY = (
    "/api/v1/features",
    "/api/v1/findings",
    "/api/v1/signals",
    "/api/v1/identities",
    "/api/v1/check",
    "/api/v1/declaration.schema.json",
)
SCOPES = {
    ("/api/v1/features", "post"): "registrations:write",
    ("/api/v1/features/{key}/draft", "put"): "registrations:write",
    ("/api/v1/features/{key}/submit", "post"): "registrations:write",
    ("/api/v1/features/{key}/retire", "post"): "registrations:write",
    ("/api/v1/signals", "post"): "catalogue:write",
    ("/api/v1/signals/{key}", "patch"): "catalogue:write",
    ("/api/v1/signals/{key}", "delete"): "catalogue:write",
    ("/api/v1/identities", "post"): "catalogue:write",
    ("/api/v1/identities/{name}", "patch"): "catalogue:write",
    ("/api/v1/identities/{name}", "delete"): "catalogue:write",
}
ERROR = "#/components/schemas/Error"


@pytest.fixture
def schema(api_client, reviewer):
    api_client.force_login(reviewer)
    response = api_client.get("/api/v1/schema")
    assert response.status_code == 200
    return response.json()


def registry_operations(schema):
    for path, operations in schema["paths"].items():
        if path.startswith(REGISTRY) and "/decisions" not in path and "/accept" not in path:
            for method, operation in operations.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    yield path, method, operation


def test_every_registry_route_is_documented(schema):
    documented = {(path, method) for path, method, _ in registry_operations(schema)}
    assert len(documented) == 23
    assert set(SCOPES) <= documented


def test_each_operation_names_its_scope_and_error_bodies(schema):
    for path, method, operation in registry_operations(schema):
        assert operation.get("x-required-scope") == SCOPES.get((path, method)), (path, method)
        responses = operation["responses"]
        for status in ("401", "403"):
            assert responses[status]["content"]["application/json"]["schema"]["$ref"] == ERROR, (path, method)
        if "{" in path:
            assert "404" in responses, (path, method)
        if "requestBody" in operation:
            assert responses["400"]["content"]["application/json"]["schema"]["$ref"] == ERROR, (path, method)


def test_write_conflicts_are_documented(schema):
    paths = schema["paths"]
    for path, method in [
        ("/api/v1/features/{key}/draft", "put"),
        ("/api/v1/features/{key}/submit", "post"),
        ("/api/v1/features/{key}/retire", "post"),
        ("/api/v1/signals/{key}", "delete"),
    ]:
        assert paths[path][method]["responses"]["409"]["content"]["application/json"]["schema"]["$ref"] == ERROR


def test_declarations_are_taken_as_json_or_yaml_and_strictly(schema):
    body = schema["paths"]["/api/v1/features/{key}/draft"]["put"]["requestBody"]
    assert body["required"] is True
    assert set(body["content"]) == {"application/json", "application/yaml", "text/yaml", "application/x-yaml"}
    declaration = schema["components"]["schemas"]["DeclarationRequest"]
    assert declaration["additionalProperties"] is False
    text = declaration["properties"]["consent_mechanism"]["oneOf"][0]  # or blank
    assert text == {"type": "string", "pattern": "^[^\\x00]*$", "maxLength": 300}
    assert schema["components"]["schemas"]["DeclaredSignalRequest"]["additionalProperties"] is False
    assert "required" not in schema["paths"]["/api/v1/features/{key}/submit"]["post"]["requestBody"]


def test_lists_document_their_filters_and_page_limits(schema):
    parameters = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/findings"]["get"]["parameters"]}
    assert {"cursor", "ordering", "page_size", "feature", "version", "source", "severity", "status", "rule_id"} <= set(
        parameters
    )
    assert (parameters["page_size"]["minimum"], parameters["page_size"]["maximum"]) == (1, 200)
    features = {p["name"] for p in schema["paths"]["/api/v1/features"]["get"]["parameters"]}
    assert {"q", "team", "tier", "status"} <= features
