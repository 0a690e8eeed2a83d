"""The same invalid registration gets the same rule ids from the form, the API and `check`.

One declaration breaks policy rules (judged by the live check on the registration page, POST
/api/v1/check and `manage.py check_declaration`) and validation rules (judged when the form saves and
when the API saves the draft). Each pair of ways in must name the same rules and the same fields.
"""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from features.models import Registration
from tests.factories import complete_declaration, form_data

pytestmark = pytest.mark.django_db

INVALID = {
    # Two sentences: a validation error on save, and the explanation-one-sentence rule.
    "explanation": "We rank products by what you bought. We also use your language.",
    "purpose": "Rank the home page carousel.",
    "requested_tier": 1,
    "consent_basis": "contract",
    "consent_mechanism": "Terms of service, section 4",
    "retention_days": 30,
    "opt_out": "Settings › Personalisation › off.",
    "high_trust_domain": "",
    "necessity_justification": "",
    "signals": [
        # Medium sensitivity at tier 1, inferred below tier 2, no justification.
        {"signal": "purchase_history", "origin": "inferred", "justification": "", "retention_days": 30},
        # No retention period.
        {"signal": "locale", "origin": "collected", "justification": "To pick the language.", "retention_days": None},
    ],
    # Granted orders:read as well as profile:read: more than it needs.
    "identities": [{"identity": "reco-profile-reader", "scopes": ["profile:read"], "access": "read"}],
    # A third party, reached before consent applies, with a signal that is not declared.
    "destinations": [
        {
            "name": "partner-feed",
            "kind": "third_party",
            "signals": ["purchase_history", "email"],
            "controls_before": False,
        }
    ],
}
EXPECTED_RULES = {
    "explanation-one-sentence",
    "signal-exceeds-tier",
    "inferred-signal",
    "retention-missing",
    "overprivileged-identity",
    "third-party-destination",
    "consent-after-destination",
}
EXPECTED_FIELDS = {"explanation", "signals.0.justification", "signals.1.retention_days", "destinations.0.signals"}


def rule_pairs(findings) -> set[tuple[str, str]]:
    return {(finding["rule_id"], finding["path"]) for finding in findings}


@pytest.fixture
def feature_key(filed_feature):
    return filed_feature.key


def test_the_same_invalid_registration_gets_the_same_rules_everywhere(client, api_client, owner, feature_key, tmp_path):
    client.force_login(owner)
    api_client.force_login(owner)

    # 1. The live check on the registration page (nothing is saved).
    page = client.post("/features/new/", form_data(INVALID, "check"), headers={"HX-Request": "true"})
    assert page.status_code == 200
    from_form = rule_pairs(finding.as_dict() for finding in page.context["live_findings"])
    assert all(rule_id in page.content.decode() for rule_id, _ in from_form)

    # 2. The API's dry run.
    response = api_client.post("/api/v1/check", INVALID, format="json")
    assert response.status_code == 200, response.json()
    from_api = rule_pairs(response.json()["findings"])

    # 3. The command teams run in CI.
    path = tmp_path / "declaration.json"
    path.write_text(json.dumps(INVALID), encoding="utf-8")
    out = StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("check_declaration", str(path), "--format", "json", stdout=out)
    assert exited.value.code == 1  # a critical finding: the third party
    from_cli = rule_pairs(json.loads(out.getvalue())["files"][0]["findings"])

    assert {rule_id for rule_id, _ in from_form} == EXPECTED_RULES
    assert from_form == from_api == from_cli


def test_the_same_invalid_registration_gets_the_same_field_errors_from_the_form_and_the_api(
    client, api_client, owner, feature_key
):
    client.force_login(owner)
    page = client.post(f"/features/{feature_key}/edit/", form_data(INVALID, "save"))
    assert page.status_code == 200 and "Nothing was saved" in page.content.decode()
    editor = page.context["editor"]
    from_form = set(editor.form.errors)
    for name, section in editor.sections.items():
        for index, row in enumerate(section.formset.forms):
            from_form |= {f"{name}.{index}.{field}" for field in row.errors}
    assert not page.context["unplaced_errors"]

    api_client.force_login(owner)
    response = api_client.put(f"/api/v1/features/{feature_key}/draft", INVALID, format="json")
    assert response.status_code == 400
    from_api = {error["field"] for error in response.json()["errors"]}

    assert from_form == from_api == EXPECTED_FIELDS
    assert Registration.objects.get().explanation == complete_declaration().explanation  # nothing saved by either


OVERSIZED = {
    **INVALID,
    "explanation": "We rank products by what you bought.",
    "consent_mechanism": "x" * 301,
    "retention_days": 2**31,
    "signals": [{**INVALID["signals"][1], "retention_days": 2**31}],
    "destinations": [],
}
OVERSIZED_FIELDS = {"consent_mechanism", "retention_days", "signals.0.retention_days"}


def test_values_beyond_what_the_database_holds_are_field_errors_everywhere(
    client, api_client, owner, feature_key, tmp_path
):
    client.force_login(owner)
    page = client.post(f"/features/{feature_key}/edit/", form_data(OVERSIZED, "save"))
    assert page.status_code == 200 and "Nothing was saved" in page.content.decode()
    from_form = set(page.context["editor"].form.errors) | {
        f"signals.{index}.{field}"
        for index, row in enumerate(page.context["editor"].sections["signals"].formset.forms)
        for field in row.errors
    }

    api_client.force_login(owner)
    response = api_client.put(f"/api/v1/features/{feature_key}/draft", OVERSIZED, format="json")
    assert response.status_code == 400
    from_api = {error["field"] for error in response.json()["errors"]}

    path = tmp_path / "declaration.json"
    path.write_text(json.dumps(OVERSIZED), encoding="utf-8")
    with pytest.raises(SystemExit) as exited:
        call_command("check_declaration", str(path), stdout=StringIO(), stderr=StringIO())

    assert from_form == from_api == OVERSIZED_FIELDS
    assert exited.value.code == 2  # a malformed file
    assert Registration.objects.get().consent_mechanism == complete_declaration().consent_mechanism


def test_the_declaration_limits_are_the_database_columns():
    from features import declaration
    from features.models import DeclaredDestination, Registration, ServiceIdentity, Signal

    assert Signal._meta.get_field("key").max_length == declaration.SIGNAL_KEY_MAX
    assert ServiceIdentity._meta.get_field("name").max_length == declaration.IDENTITY_NAME_MAX
    assert DeclaredDestination._meta.get_field("name").max_length == declaration.DESTINATION_NAME_MAX
    assert Registration._meta.get_field("consent_mechanism").max_length == declaration.CONSENT_MECHANISM_MAX


def test_a_declaration_holding_a_secret_is_refused_by_the_dry_runs_too(api_client, owner, tmp_path):
    secret = "AKIA" + "IOSFODNN7EXAMPLE"
    declaration = {**INVALID, "consent_mechanism": secret}
    api_client.force_login(owner)

    response = api_client.post("/api/v1/check", declaration, format="json")
    path = tmp_path / "declaration.json"
    path.write_text(json.dumps(declaration), encoding="utf-8")
    out = StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("check_declaration", str(path), "--format", "json", stdout=out)

    assert response.status_code == 400
    assert {error["field"] for error in response.json()["errors"]} == {"consent_mechanism"}
    assert exited.value.code == 2
    assert json.loads(out.getvalue())["files"][0]["errors"].keys() == {"consent_mechanism"}
    assert secret not in response.content.decode() + out.getvalue()
