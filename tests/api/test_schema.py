"""The OpenAPI schema (governance/api/docs.py, served at /api/v1/schema): every endpoint, its token scope and
its error bodies; and the pages that show it."""

import pytest
import yaml
from django.urls import resolve
from drf_spectacular.validation import validate_schema

from governance.api.docs import required_scope
from tests.api.test_api_walk import UNKNOWN
from tests.permissions import known_routes

pytestmark = pytest.mark.django_db

SCHEMA = "/api/v1/schema"
# Not DRF views: telemetry (plain Django, on the hot path), the schema and its pages, and the JSON 404.
NOT_IN_SCHEMA = {"api/v1/observations", "api/v1/schema", "api/v1/docs", "api/v1/redoc", UNKNOWN}
METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture
def schema(api_client, auditor):
    api_client.force_login(auditor)
    response = api_client.get(SCHEMA)
    assert response.status_code == 200
    return response.json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def spelled_as_route(path: str) -> str:
    """`/api/v1/features/{key}` → the URL a request would use, with a value in each parameter."""
    return (
        path.replace("{key}", "k")
        .replace("{name}", "n")
        .replace("{version}", "1")
        .replace("{id}", "1")
        .replace("{finding_id}", "1")
    )


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/no-such-endpoint"),
        ("post", "/api/v1/findings/-1/accept"),  # a path parameter its converter refuses
        ("get", "/api/v1/features/not%20a%20slug"),
    ],
)
def test_what_no_endpoint_answers_is_a_json_404(api_client, method, url):
    response = getattr(api_client, method)(url)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_schema_is_json_by_default_and_yaml_on_request(api_client, auditor):
    api_client.force_login(auditor)

    as_json = api_client.get(SCHEMA)
    as_yaml = api_client.get(SCHEMA, {"format": "yaml"})

    assert as_json["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert yaml.safe_load(as_yaml.content) == as_json.json()


def test_the_schema_is_for_signed_in_callers(api_client):
    assert api_client.get(SCHEMA).status_code == 401


def test_the_schema_is_valid_openapi_3(schema):
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")


def test_every_api_endpoint_is_in_the_schema(schema):
    routes = {route for route in known_routes() if route.startswith("api/v1/")} - NOT_IN_SCHEMA
    documented = {resolve(spelled_as_route(path)).route for path in schema["paths"]}
    assert routes == documented


def test_bearer_tokens_and_sessions_are_the_security_schemes(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["tokenAuth"] | {"description": ""} == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "pgv_<prefix>_<secret>",
        "description": "",
    }
    assert "cookieAuth" in schemes
    assert all(operation["security"] for _, _, operation in operations(schema))


def test_each_operation_states_the_scope_its_view_requires(schema):
    for path, method, operation in operations(schema):
        view = resolve(spelled_as_route(path)).func.view_class
        scope = required_scope(view, method)
        assert operation.get("x-required-scope") == scope, f"{method.upper()} {path}"
        expected = f"Token scope: `{scope}`." if scope else "Token scope: none (any live token)."
        assert expected in operation["description"], f"{method.upper()} {path}"


def test_each_operation_documents_its_error_bodies(schema):
    error = {"$ref": "#/components/schemas/Error"}
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        expected = {"401", "403"}
        if "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", [])):
            expected.add("400")
        if "{" in path:
            expected.add("404")
        assert expected <= responses.keys(), f"{method.upper()} {path}: {sorted(responses)}"
        for status in expected | ({"409"} & responses.keys()):
            assert responses[status]["content"]["application/json"]["schema"] == error, f"{method} {path} {status}"


def test_the_error_body_says_what_and_which_field(schema):
    error = schema["components"]["schemas"]["Error"]
    field_error = schema["components"]["schemas"]["FieldError"]

    assert error["required"] == ["code", "detail"]
    assert set(error["properties"]) == {"code", "detail", "errors", "findings"}
    assert set(field_error["properties"]) == {"field", "code", "message"}


def test_path_parameters_say_what_the_resolver_accepts(schema):
    parameters = {
        (parameter["name"], str(parameter["schema"].get("minimum", parameter["schema"].get("pattern"))))
        for _, _, operation in operations(schema)
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path"
    }
    assert ("key", "^[-a-zA-Z0-9_]+$") in parameters
    assert ("finding_id", "0") in parameters
    assert ("id", "0") in parameters


def test_each_vocabulary_has_one_component(schema):
    enums = {name for name in schema["components"]["schemas"] if name.endswith("Enum")}
    assert {"TierEnum", "FindingStatusEnum", "PackStatusEnum", "ScopeKindEnum"} <= enums
    assert not {name for name in enums if name.startswith(("RequestedTier", "Status", "Kind"))}


@pytest.mark.parametrize("url", ["/api/v1/docs", "/api/v1/redoc"])
def test_the_docs_pages_are_for_signed_in_people(client, auditor, url):
    assert client.get(url)["Location"].startswith("/login/")
    client.force_login(auditor)
    response = client.get(url)
    assert response.status_code == 200
    assert b'data-schema-url="/api/v1/schema"' in response.content


def test_only_redoc_relaxes_the_csp_and_only_for_styles(client, auditor, settings):
    client.force_login(auditor)

    swagger = client.get("/api/v1/docs")["Content-Security-Policy"]
    redoc = client.get("/api/v1/redoc")["Content-Security-Policy"]

    assert "unsafe-inline" not in swagger
    directives = dict(part.strip().split(" ", 1) for part in redoc.split(";"))
    assert directives["style-src"] == "'self' 'unsafe-inline'"
    assert "unsafe" not in directives["script-src"]
    assert "worker-src" not in directives
