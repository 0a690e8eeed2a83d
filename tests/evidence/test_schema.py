"""registry.json validates against the JSON Schema shipped with it (governance/evidence/schema)."""

import json
from pathlib import Path

import jsonschema
import pytest

from tests.evidence.test_pack_support import EARLIER, build, observe, registry_with_history, use_temporary_signing_key

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "governance" / "evidence" / "schema" / "registry.schema.json"


@pytest.fixture(autouse=True)
def signing_key(settings, tmp_path):
    use_temporary_signing_key(settings, tmp_path)


@pytest.fixture
def validator():
    schema = json.loads(SCHEMA_FILE.read_text())
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def errors(validator, document) -> list[str]:
    return [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(document)]


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_FILE.read_text()))


def test_a_current_pack_validates_against_the_schema(owner, reviewer, team, validator):
    registry_with_history(owner, reviewer, team)
    observe("shadow-thing", "locale", EARLIER)  # an unregistered key too

    assert errors(validator, build().json()) == []


def test_an_as_of_pack_validates_against_the_schema(owner, reviewer, team, validator):
    registry_with_history(owner, reviewer, team)

    assert errors(validator, build(as_of=EARLIER).json()) == []


def test_an_empty_pack_validates_against_the_schema(db, validator):
    assert errors(validator, build().json()) == []


def test_the_schema_refuses_a_field_it_does_not_know(owner, reviewer, team, validator):
    registry_with_history(owner, reviewer, team)
    document = build().json()
    document["features"][0]["secret_sauce"] = True

    assert errors(validator, document) == [
        "['features', 0]: Additional properties are not allowed ('secret_sauce' was unexpected)"
    ]
