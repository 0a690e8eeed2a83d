"""The declaration file format's JSON Schema: valid itself, true to the example, the choices and the API."""

from pathlib import Path

import jsonschema
import pytest
import yaml
from rest_framework import serializers

from features.api.declarations import (
    SCHEMA_FILE,
    DeclarationSerializer,
    DeclaredDestinationSerializer,
    DeclaredIdentitySerializer,
    DeclaredSignalSerializer,
    declaration_schema,
)
from features.choices import AccessMode, ConsentBasis, DestinationKind, HighTrustDomain, SignalOrigin, Tier
from features.declaration import Declaration
from tests.factories import complete_declaration

EXAMPLE = Path(__file__).resolve().parents[2] / "governance" / "policy" / "examples" / "declaration.yaml"
SCHEMA = declaration_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def _definition(name: str | None) -> dict:
    return SCHEMA if name is None else SCHEMA["$defs"][name]


def test_the_schema_is_a_valid_draft_2020_12_schema():
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_the_example_declaration_file_is_valid():
    VALIDATOR.validate(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))


@pytest.mark.parametrize("declaration", [Declaration(), complete_declaration()], ids=["empty", "complete"])
def test_what_the_registry_writes_back_is_valid(declaration):
    VALIDATOR.validate(declaration.as_dict())


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ({"requested_tier": "2"}, "requested_tier"),
        ({"explanation": "One.", "colour": "red"}, ""),
        ({"signals": [{"signal": "locale", "retention_days": 0}]}, "signals/0/retention_days"),
        ({"destinations": [{"name": "x", "kind": "carrier_pigeon"}]}, "destinations/0/kind"),
    ],
)
def test_the_schema_refuses_what_the_api_refuses(document, where):
    errors = list(VALIDATOR.iter_errors(document))
    assert errors and "/".join(str(part) for part in errors[0].absolute_path) == where
    assert not DeclarationSerializer(data=document).is_valid()


@pytest.mark.parametrize(
    ("definition", "field", "choices"),
    [
        (None, "requested_tier", Tier),
        (None, "consent_basis", ConsentBasis),
        (None, "high_trust_domain", HighTrustDomain),
        ("signal", "origin", SignalOrigin),
        ("identity", "access", AccessMode),
        ("destination", "kind", DestinationKind),
    ],
)
def test_the_schemas_enumerations_are_the_choices(definition, field, choices):
    enum = _definition(definition)["properties"][field]["enum"]
    assert {value for value in enum if value not in ("", None)} == {value for value in choices.values if value != ""}


@pytest.mark.parametrize(
    ("definition", "serializer"),
    [
        (None, DeclarationSerializer()),
        ("signal", DeclaredSignalSerializer()),
        ("identity", DeclaredIdentitySerializer()),
        ("destination", DeclaredDestinationSerializer()),
    ],
)
def test_the_schema_and_the_apis_serializer_agree(definition, serializer):
    """Two statements of one format: the same fields, limits, nullability and choices."""
    schema = _definition(definition)
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == set(serializer.fields)
    for name, field in serializer.fields.items():
        prop = schema["properties"][name]
        types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
        assert ("null" in types) is field.allow_null, name
        if isinstance(field, serializers.ListField):
            assert prop.get("maxItems") == field.max_length, name
            item = prop["items"]
            if "maxLength" in item:
                assert item["maxLength"] == field.child.max_length, name
        elif isinstance(field, serializers.ChoiceField):
            assert set(prop["enum"]) - {None, ""} == set(field.choices) - {""}, name
            assert ("" in prop["enum"]) is (field.allow_blank or "" in field.choices), name
        elif isinstance(field, serializers.CharField):
            assert prop["maxLength"] == field.max_length, name
        elif isinstance(field, serializers.IntegerField):
            assert (prop.get("minimum"), prop.get("maximum")) == (field.min_value, field.max_value), name


def test_the_schema_is_served_to_anyone_signed_in(api_client, owner):
    assert api_client.get("/api/v1/declaration.schema.json").status_code == 401
    api_client.force_login(owner)
    response = api_client.get("/api/v1/declaration.schema.json")
    assert response.status_code == 200
    assert response.json() == SCHEMA
    assert SCHEMA_FILE.name == "declaration.schema.json"


def test_the_schema_is_served_to_any_live_token(api_client, owner, team, token_header):
    headers = token_header(owner, scopes=["observations:write"], teams=[team])
    assert api_client.get("/api/v1/declaration.schema.json", headers=headers).status_code == 200
