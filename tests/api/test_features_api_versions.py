"""Versions through the API: save the draft, submit, immutability, diff, retire — the browser's services."""

import logging
from pathlib import Path

import pytest

from features.choices import FeatureStatus, RegistrationStatus
from features.models import Feature, Finding, Registration, ServiceIdentity
from features.services import registration_submit
from governance.accounts.models import TokenScope
from governance.audit.models import AuditEvent
from governance.policy.files import load_declaration_file
from tests.factories import complete_declaration

pytestmark = pytest.mark.django_db

FEATURE = "/api/v1/features/locale-ordering"
DRAFT, SUBMIT, RETIRE, DIFF = f"{FEATURE}/draft", f"{FEATURE}/submit", f"{FEATURE}/retire", f"{FEATURE}/diff"
EXAMPLE = Path(__file__).resolve().parents[2] / "governance" / "policy" / "examples" / "declaration.yaml"
# Fake credentials assembled at runtime (see tests/features/test_secrets.py); none is real.
AWS_ACCESS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"
GITHUB_TOKEN = "ghp" + "_" + "wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINUx"


@pytest.fixture
def as_owner(api_client, owner):
    api_client.force_login(owner)
    return api_client


def fields(response) -> set[str]:
    return {error["field"] for error in response.json()["errors"]}


# --- the draft ----------------------------------------------------------------------------------------------


def test_put_saves_the_draft_and_answers_with_the_version(as_owner, filed_feature, declaration_dict):
    response = as_owner.put(DRAFT, declaration_dict(purpose="Rank the home page by language."), format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["version"] == 1 and body["status"] == "draft"
    assert body["declaration"]["purpose"] == "Rank the home page by language."
    assert body["policy_check"] == {"critical": False, "findings": []}
    assert Registration.objects.get().purpose == "Rank the home page by language."
    assert AuditEvent.objects.filter(action="registration.edited").count() == 1


def test_a_declaration_file_in_yaml_is_a_registration(as_owner, filed_feature):
    response = as_owner.put(DRAFT, EXAMPLE.read_bytes(), content_type="application/yaml")
    assert response.status_code == 200, response.json()
    assert response.json()["declaration"] == load_declaration_file(EXAMPLE).as_dict()
    also_text_yaml = as_owner.put(DRAFT, EXAMPLE.read_bytes(), content_type="text/yaml; charset=utf-8")
    assert also_text_yaml.status_code == 200


def test_what_is_saved_reads_back_as_the_declaration_file_format(as_owner, filed_feature, declaration_dict):
    declaration = declaration_dict()
    as_owner.put(DRAFT, declaration, format="json")
    assert as_owner.get(f"{FEATURE}/versions/1").json()["declaration"] == declaration


def test_an_invalid_draft_is_refused_field_by_field_and_nothing_is_lost(as_owner, filed_feature, declaration_dict):
    declaration = declaration_dict(explanation="Two sentences. Not one.")
    declaration["signals"][0]["justification"] = ""
    declaration["destinations"][0]["signals"] = ["locale", "purchase_history"]
    response = as_owner.put(DRAFT, declaration, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert fields(response) == {"explanation", "signals.0.justification", "destinations.0.signals"}
    assert Registration.objects.get().explanation == complete_declaration().explanation


def test_a_secret_is_refused_and_never_stored_echoed_or_logged(as_owner, filed_feature, declaration_dict, caplog):
    caplog.set_level(logging.DEBUG)
    declaration = declaration_dict(consent_mechanism=f"key {AWS_ACCESS_KEY_ID}")
    declaration["signals"][0]["justification"] = f"Fetched with {GITHUB_TOKEN}"
    response = as_owner.put(DRAFT, declaration, format="json")
    assert response.status_code == 400
    errors = {error["field"]: error["message"] for error in response.json()["errors"]}
    assert set(errors) == {"consent_mechanism", "signals.0.justification"}
    assert all("looks like a secret" in message for message in errors.values())
    content = response.content.decode()
    assert AWS_ACCESS_KEY_ID not in content and GITHUB_TOKEN not in content
    stored = str(list(Registration.objects.values())) + str(list(AuditEvent.objects.values()))
    assert AWS_ACCESS_KEY_ID not in stored and GITHUB_TOKEN not in stored
    assert AWS_ACCESS_KEY_ID not in caplog.text and GITHUB_TOKEN not in caplog.text


def test_a_secret_in_a_yaml_file_is_refused_the_same_way(as_owner, filed_feature):
    body = f"explanation: We sort by language.\nopt_out: call with {AWS_ACCESS_KEY_ID}\n"
    response = as_owner.put(DRAFT, body, content_type="application/yaml")
    assert response.status_code == 400 and fields(response) == {"opt_out"}
    assert AWS_ACCESS_KEY_ID not in response.content.decode()


def test_a_reviewer_may_not_save_a_draft_in_the_api_nor_the_browser(client, api_client, reviewer, filed_feature):
    api_client.force_login(reviewer)
    client.force_login(reviewer)
    response = api_client.put(DRAFT, complete_declaration().as_dict(), format="json")
    assert response.status_code == 403 and response.json()["code"] == "not_allowed"
    assert client.post("/features/locale-ordering/edit/", {"action": "save"}).status_code == 403


def test_a_reviewer_hears_not_allowed_before_anything_about_the_body(api_client, reviewer, filed_feature):
    api_client.force_login(reviewer)
    assert api_client.put(DRAFT, "{not json", content_type="application/json").status_code == 403


def test_saving_with_a_token_needs_the_registrations_scope(api_client, owner, team, token_header, filed_feature):
    body = complete_declaration().as_dict()
    without = token_header(owner, scopes=[TokenScope.OBSERVATIONS_WRITE, TokenScope.EVIDENCE_READ], teams=[team])
    assert api_client.put(DRAFT, body, format="json", headers=without).status_code == 401
    with_scope = token_header(owner, scopes=[TokenScope.REGISTRATIONS_WRITE], teams=[team])
    assert api_client.put(DRAFT, body, format="json", headers=with_scope).status_code == 200


def test_a_draft_needs_a_body(as_owner, filed_feature):
    response = as_owner.put(DRAFT)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] is None


# --- submitting and immutability ----------------------------------------------------------------------------


def test_submit_makes_the_version_immutable_and_a_later_draft_a_new_version(as_owner, filed_feature, declaration_dict):
    submitted = as_owner.post(SUBMIT)
    assert submitted.status_code == 200, submitted.json()
    assert submitted.json()["status"] == "submitted" and submitted.json()["policy_check"] is None
    assert Feature.objects.get().status == FeatureStatus.IN_REVIEW

    changed = as_owner.put(DRAFT, declaration_dict(purpose="Something else entirely."), format="json")
    assert changed.json()["version"] == 2 and changed.json()["based_on"] == 1
    first = as_owner.get(f"{FEATURE}/versions/1").json()
    assert first["status"] == "submitted" and first["declaration"]["purpose"] == complete_declaration().purpose


def test_submit_with_a_body_saves_and_submits_in_one_step(as_owner, filed_feature, declaration_dict):
    response = as_owner.post(SUBMIT, declaration_dict(purpose="Filed from CI."), format="json")
    assert response.status_code == 200
    registration = Registration.objects.get()
    assert registration.status == RegistrationStatus.SUBMITTED and registration.purpose == "Filed from CI."


def test_submitting_an_incomplete_draft_names_what_is_missing(as_owner, filed_feature, declaration_dict):
    response = as_owner.post(SUBMIT, declaration_dict(opt_out="", purpose=""), format="json")
    assert response.status_code == 400
    assert fields(response) == {"opt_out", "purpose"}
    assert Registration.objects.get().status == RegistrationStatus.DRAFT
    assert Registration.objects.get().opt_out == complete_declaration().opt_out  # the failed step saved nothing


def test_submitting_without_a_draft_is_a_409(as_owner, filed_feature):
    as_owner.post(SUBMIT)
    response = as_owner.post(SUBMIT)
    assert response.status_code == 409 and response.json()["code"] == "registration_locked"


def test_submitting_a_new_version_while_one_is_in_review_is_a_409_and_leaves_nothing(
    as_owner, filed_feature, declaration_dict
):
    as_owner.post(SUBMIT)
    response = as_owner.post(SUBMIT, declaration_dict(purpose="Second thoughts."), format="json")
    assert response.status_code == 409 and response.json()["code"] == "transition_not_allowed"
    assert Registration.objects.count() == 1


def test_submit_stores_the_policy_findings_on_the_version(as_owner, filed_feature):
    ServiceIdentity.objects.filter(name="reco-reader").update(granted_scopes=["profile:read", "orders:write"])
    body = as_owner.post(SUBMIT).json()
    assert [finding["rule_id"] for finding in body["findings"]] == ["overprivileged-identity"]
    assert body["findings_total"] == 1 and body["findings"][0]["version"] == 1
    assert Finding.objects.filter(registration__version=1, rule_id="overprivileged-identity").exists()


def test_a_draft_shows_the_policy_rules_verdict_without_storing_it(as_owner, filed_feature):
    ServiceIdentity.objects.filter(name="reco-reader").update(granted_scopes=["*"])
    body = as_owner.get(f"{FEATURE}/versions/1").json()
    assert body["policy_check"]["findings"][0]["rule_id"] == "overprivileged-identity"
    assert body["findings"] == [] and not Finding.objects.exists()


# --- versions and diff --------------------------------------------------------------------------------------


@pytest.fixture
def two_versions(owner, filed_feature, as_owner, declaration_dict):
    registration_submit(actor=owner, feature=filed_feature)
    as_owner.put(DRAFT, declaration_dict(requested_tier=0, purpose="Less."), format="json")
    return filed_feature


def test_versions_list_newest_first_and_filter_by_status(as_owner, two_versions):
    body = as_owner.get(f"{FEATURE}/versions").json()
    assert [(item["version"], item["status"]) for item in body["results"]] == [(2, "draft"), (1, "submitted")]
    only = as_owner.get(f"{FEATURE}/versions", {"status": "submitted"}).json()["results"]
    assert [item["version"] for item in only] == [1]
    assert as_owner.get(f"{FEATURE}/versions", {"ordering": "version"}).json()["results"][0]["version"] == 1


def test_an_unknown_version_is_a_404(as_owner, filed_feature):
    response = as_owner.get(f"{FEATURE}/versions/9")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_the_diff_compares_the_latest_with_the_one_before(as_owner, two_versions):
    body = as_owner.get(DIFF).json()
    assert body["from"] == 1 and body["to"] == 2
    changed = {change["field"]: (change["before"], change["after"]) for change in body["fields"]}
    assert changed == {
        "purpose": (complete_declaration().purpose, "Less."),
        "requested_tier": ("Tier 1 · basic", "Tier 0 · none"),
    }
    assert body["signals"] == [] and body["destinations"] == []


def test_the_diff_between_chosen_versions(as_owner, two_versions):
    assert as_owner.get(DIFF, {"from": "2", "to": "1"}).json()["fields"][0]["after"] == complete_declaration().purpose
    same = as_owner.get(DIFF, {"from": "1", "to": "1"}).json()
    assert same["from"] is None and same["signals"][0] == {
        "key": "locale",
        "change": "added",
        "details": same["signals"][0]["details"],
    }


@pytest.mark.parametrize("query", [{"to": "0"}, {"from": "one"}, {"to": "-1"}, {"from": "1e3"}])
def test_a_diff_parameter_that_is_not_a_version_number_is_a_400_naming_it(as_owner, two_versions, query):
    response = as_owner.get(DIFF, query)
    assert response.status_code == 400
    assert fields(response) == set(query)


def test_a_diff_with_a_version_the_feature_lacks_is_a_404(as_owner, two_versions):
    response = as_owner.get(DIFF, {"from": "7"})
    assert response.status_code == 404 and "no version 7" in response.json()["detail"]


# --- retiring -----------------------------------------------------------------------------------------------


def test_an_owner_retires_a_draft_feature_and_it_takes_no_new_version(as_owner, filed_feature, declaration_dict):
    response = as_owner.post(RETIRE)
    assert response.status_code == 200 and response.json()["status"] == "retired"
    assert AuditEvent.objects.filter(action="feature.retired").count() == 1
    again = as_owner.post(RETIRE)
    assert again.status_code == 409 and again.json()["code"] == "transition_not_allowed"
    locked = as_owner.put(DRAFT, declaration_dict(), format="json")
    assert locked.status_code == 409 and locked.json()["code"] == "registration_locked"


def test_a_feature_in_review_cannot_be_retired(as_owner, owner, filed_feature):
    registration_submit(actor=owner, feature=filed_feature)
    response = as_owner.post(RETIRE)
    assert response.status_code == 409
    assert Feature.objects.get().status == FeatureStatus.IN_REVIEW


@pytest.mark.parametrize("role", ["reviewer", "auditor", "administrator"])
def test_only_the_teams_owners_retire(request, api_client, role, filed_feature):
    api_client.force_login(request.getfixturevalue(role))
    assert api_client.post(RETIRE).status_code == 403
    assert Feature.objects.get().status == FeatureStatus.DRAFT
