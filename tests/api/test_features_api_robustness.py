"""Hostile and clumsy input: every refusal is a 4xx with a JSON body saying what, never a 500."""

import base64
import json
import time

import pytest

from features.api.parsers import MAX_BODY_BYTES
from features.models import Registration

pytestmark = pytest.mark.django_db

FEATURE = "/api/v1/features/locale-ordering"
DRAFT = f"{FEATURE}/draft"
LISTS = [
    "/api/v1/features",
    f"{FEATURE}/versions",
    f"{FEATURE}/findings",
    "/api/v1/findings",
    "/api/v1/signals",
    "/api/v1/identities",
]


@pytest.fixture
def as_owner(api_client, owner, filed_feature):
    api_client.force_login(owner)
    return api_client


def refused(response, status: int = 400) -> dict:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert body["code"], body
    return body


def error_fields(response) -> set:
    return {error["field"] for error in refused(response)["errors"]}


def put_json(client, text: str | bytes, content_type: str = "application/json"):
    return client.generic("PUT", DRAFT, text, content_type=content_type)


# --- strict bodies ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"explanation": 5}, "explanation"),
        ({"explanation": ["a sentence."]}, "explanation"),
        ({"requested_tier": "2"}, "requested_tier"),
        ({"requested_tier": True}, "requested_tier"),
        ({"requested_tier": 2.0}, "requested_tier"),
        ({"requested_tier": 9}, "requested_tier"),
        ({"retention_days": "30"}, "retention_days"),
        ({"retention_days": 0}, "retention_days"),
        ({"retention_days": 2**31}, "retention_days"),
        ({"consent_basis": "because"}, "consent_basis"),
        ({"signals": "locale"}, "signals"),
        ({"signals": {"signal": "locale"}}, "signals"),
        ({"signals": [{"signal": "locale", "retention_days": True}]}, "signals.0.retention_days"),
        ({"signals": [{"signal": "locale", "colour": "red"}]}, "signals.0.colour"),
        ({"signals": ["locale"]}, "signals.0"),
        ({"identities": [{"identity": "reco-reader", "scopes": "profile:read"}]}, "identities.0.scopes"),
        ({"identities": [{"identity": "reco-reader", "scopes": [1]}]}, "identities.0.scopes.0"),
        ({"destinations": [{"name": "x", "controls_before": "yes"}]}, "destinations.0.controls_before"),
        ({"unknown": 1}, "unknown"),
        ({"explanation": "x" * 5001}, "explanation"),
        ({"consent_mechanism": "x" * 301}, "consent_mechanism"),
        ({"destinations": [{"name": "x" * 121}]}, "destinations.0.name"),
        ({"signals": [{"signal": "locale"}] * 101}, "signals"),
        ({"explanation": "nul\x00byte"}, "explanation"),
    ],
)
def test_a_body_that_breaks_the_format_is_a_400_naming_the_field(as_owner, declaration_dict, change, field):
    response = as_owner.put(DRAFT, {**declaration_dict(), **change}, format="json")
    assert field in error_fields(response)
    assert Registration.objects.get().explanation == declaration_dict()["explanation"]


def test_null_means_not_given(as_owner):
    body = {"explanation": None, "consent_basis": None, "signals": None, "high_trust_domain": None}
    assert as_owner.put(DRAFT, body, format="json").status_code == 200


def test_a_lone_surrogate_is_refused(as_owner):
    assert error_fields(put_json(as_owner, '{"explanation": "\\ud800 half a character."}')) == {"explanation"}


def test_an_unknown_field_that_looks_like_a_secret_is_not_named(as_owner):
    secret_name = "AKIA" + "IOSFODNN7EXAMPLE"
    response = put_json(as_owner, json.dumps({secret_name: 1}))
    assert secret_name not in response.content.decode()
    assert error_fields(response) == {"(a field name that looks like a secret)"}


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2, 3]",
        b'"a declaration"',
        b"{not json",
        b'{"retention_days": NaN}',
        b'{"retention_days": 1' + b"0" * 5000 + b"}",
        b"\xff\xfe{}",
        b"[" * 100_000 + b"]" * 100_000,
        json.dumps({"signals": [[[[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]]]}).encode(),
    ],
    ids=["list", "string", "syntax", "nan", "huge-integer", "not-utf8", "deep-recursion", "deep"],
)
def test_a_body_that_is_not_a_json_object_is_a_400(as_owner, body):
    assert error_fields(put_json(as_owner, body)) in ({None}, {"signals.0"})


@pytest.mark.parametrize(
    "body",
    [
        "explanation: [unclosed\n",
        "!!python/object/apply:os.system ['echo owned']\n",
        "explanation: 2026-01-31\n",
        "--- \nexplanation: One.\n---\nexplanation: Two.\n",
        "",
    ],
    ids=["syntax", "python-tag", "date-not-text", "two-documents", "empty"],
)
def test_a_yaml_body_that_is_not_a_declaration_is_a_400(as_owner, body):
    refused(put_json(as_owner, body, "application/yaml"))


def test_a_yaml_bomb_is_refused_quickly(as_owner):
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]")
    lines.append("signals: *i")
    started = time.monotonic()
    response = put_json(as_owner, "\n".join(lines), "application/yaml")
    assert time.monotonic() - started < 5
    assert "values" in refused(response)["errors"][0]["message"]


def test_a_body_over_the_limit_is_a_413(as_owner):
    body = b'{"explanation": "' + b"x" * MAX_BODY_BYTES + b'"}'
    assert refused(put_json(as_owner, body), 413)["code"] == "too_large"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"]
)
def test_other_media_types_are_a_415(as_owner, content_type):
    refused(put_json(as_owner, b"{}", content_type), 415)


def test_a_method_a_route_does_not_have_is_a_405_with_a_code(as_owner):
    assert refused(as_owner.delete("/api/v1/features"), 405)["code"] == "method_not_allowed"


# --- lists and paths ----------------------------------------------------------------------------------------


def _cursor(query: str) -> str:
    return base64.b64encode(query.encode()).decode()


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize(
    "cursor",
    ["garbage", "%%%", _cursor("p=abc"), _cursor("p=\x00"), _cursor("o=-1"), _cursor("r=maybe"), _cursor("p=9" * 30)],
)
def test_a_garbage_cursor_is_a_404_not_a_500(as_owner, url, cursor):
    response = as_owner.get(url, {"cursor": cursor})
    assert response.status_code in (200, 404), response.content[:300]
    if response.status_code == 404:
        assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("url", LISTS)
def test_every_list_is_a_cursor_page(as_owner, url):
    body = as_owner.get(url, {"page_size": "1"}).json()
    assert set(body) == {"next", "previous", "results"} and len(body["results"]) <= 1


@pytest.mark.parametrize(
    "url",
    [
        f"{FEATURE}/versions/99999999999999999999",
        f"{FEATURE}/versions/9223372036854775807",
        "/api/v1/features/no-such-feature",
        "/api/v1/identities/a%00b",
        "/api/v1/signals/nope",
        "/api/v1/features/a%0Ab/versions",  # a newline: still the API's JSON 404, not Django's HTML page
        "/api/v1/%0A",
    ],
)
def test_paths_to_nothing_are_404(as_owner, url):
    refused(as_owner.get(url), 404)


@pytest.mark.parametrize(
    "query", [{"feature": "x" * 81}, {"rule_id": "r\x00"}, {"version": "99999999999"}, {"version": "1.5"}]
)
def test_hostile_filters_are_a_400(as_owner, query):
    refused(as_owner.get("/api/v1/findings", query))
