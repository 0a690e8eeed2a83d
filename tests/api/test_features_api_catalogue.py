"""The signal catalogue and identity inventory: everyone reads, administrators write as in the admin."""

import logging

import pytest

from features.choices import IdentityStatus, RegistrationStatus
from features.models import ServiceIdentity, Signal
from features.services import registration_submit
from governance.accounts.models import TokenScope
from governance.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

SIGNALS, IDENTITIES = "/api/v1/signals", "/api/v1/identities"
AWS_ACCESS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"  # fake, assembled at runtime
NEW_SIGNAL = {"key": "device_class", "name": "Device class", "category": "context", "sensitivity": "low"}
NEW_IDENTITY = {
    "name": "reco-writer",
    "kind": "workload_identity",
    "team": "recommendations",
    "granted_scopes": ["profile:write"],
    "credential_max_lifetime_days": 30,
    "last_rotated": "2026-01-31",
    "secret_location": "vault://kv/reco/writer",
}


@pytest.fixture
def as_admin(api_client, administrator, team):
    api_client.force_login(administrator)
    return api_client


@pytest.mark.parametrize("role", ["owner", "other_owner", "reviewer", "auditor", "administrator"])
def test_everyone_signed_in_reads_the_catalogue_and_inventory(request, api_client, role, registry_catalogue):
    api_client.force_login(request.getfixturevalue(role))
    signals = api_client.get(SIGNALS).json()["results"]
    assert [signal["key"] for signal in signals] == ["locale", "purchase_history"]
    identities = api_client.get(IDENTITIES).json()["results"]
    assert [identity["name"] for identity in identities] == ["reco-profile-reader", "reco-reader"]
    assert identities[1]["secret_location"] == "vault://kv/reco-reader"  # a reference, never a secret
    assert api_client.get(f"{SIGNALS}/locale").json()["sensitivity"] == "low"
    assert api_client.get(f"{IDENTITIES}/reco-reader").json()["granted_scopes"] == ["profile:read"]


def test_the_catalogue_filters_and_orders(api_client, reviewer, registry_catalogue):
    api_client.force_login(reviewer)
    assert [s["key"] for s in api_client.get(SIGNALS, {"sensitivity": "medium"}).json()["results"]] == [
        "purchase_history"
    ]
    assert [s["key"] for s in api_client.get(SIGNALS, {"q": "LOC"}).json()["results"]] == ["locale"]
    assert api_client.get(SIGNALS, {"ordering": "-key"}).json()["results"][0]["key"] == "purchase_history"
    assert api_client.get(IDENTITIES, {"kind": "api_key"}).json()["results"] == []
    assert api_client.get(IDENTITIES, {"kind": "secret"}).status_code == 400


def test_an_administrator_adds_a_signal_and_it_is_audited(as_admin):
    response = as_admin.post(SIGNALS, NEW_SIGNAL, format="json")
    assert response.status_code == 201, response.json()
    assert Signal.objects.filter(key="device_class").exists()
    assert AuditEvent.objects.filter(action="signal.created").count() == 1


def test_an_administrator_adds_an_identity(as_admin, team):
    response = as_admin.post(IDENTITIES, NEW_IDENTITY, format="json")
    assert response.status_code == 201, response.json()
    identity = ServiceIdentity.objects.get(name="reco-writer")
    assert identity.team == team and identity.status == IdentityStatus.ACTIVE
    assert identity.granted_scopes == ["profile:write"]
    assert AuditEvent.objects.filter(action="identity.created").count() == 1


@pytest.mark.parametrize("role", ["owner", "reviewer", "auditor"])
def test_only_administrators_write_the_catalogue(request, api_client, role, registry_catalogue):
    api_client.force_login(request.getfixturevalue(role))
    assert api_client.post(SIGNALS, NEW_SIGNAL, format="json").status_code == 403
    assert api_client.patch(f"{SIGNALS}/locale", {"name": "x"}, format="json").status_code == 403
    assert api_client.delete(f"{SIGNALS}/locale").status_code == 403
    assert api_client.post(IDENTITIES, NEW_IDENTITY, format="json").status_code == 403
    assert api_client.patch(f"{IDENTITIES}/reco-reader", {"status": "disabled"}, format="json").status_code == 403
    assert api_client.delete(f"{IDENTITIES}/reco-reader").status_code == 403
    assert Signal.objects.count() == 2 and ServiceIdentity.objects.count() == 2


def test_tokens_cannot_write_the_catalogue_without_the_catalogue_scope(api_client, administrator, token_header):
    without = [scope for scope in TokenScope.values if scope != TokenScope.CATALOGUE_WRITE]
    response = api_client.post(SIGNALS, NEW_SIGNAL, format="json", headers=token_header(administrator, scopes=without))
    assert response.status_code == 401
    assert "lacks the scope catalogue:write" in response.json()["detail"]
    assert (
        api_client.get(SIGNALS, headers=token_header(administrator, scopes=[TokenScope.EVIDENCE_READ])).status_code
        == 200
    )


def test_a_secret_value_is_refused_as_in_the_admin_form_and_never_echoed(as_admin, client, administrator, caplog):
    caplog.set_level(logging.DEBUG)
    response = as_admin.post(IDENTITIES, {**NEW_IDENTITY, "secret_location": AWS_ACCESS_KEY_ID}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "secret_location"
    assert "looks like a secret" in response.json()["errors"][0]["message"]
    assert AWS_ACCESS_KEY_ID not in response.content.decode() and AWS_ACCESS_KEY_ID not in caplog.text
    assert not ServiceIdentity.objects.filter(name="reco-writer").exists()
    # The admin form refuses the same value with the same message.
    client.force_login(administrator)
    page = client.post(
        "/admin/features/serviceidentity/add/",
        {**NEW_IDENTITY, "team": "", "granted_scopes": "[]", "status": "active", "secret_location": AWS_ACCESS_KEY_ID},
    )
    assert page.status_code == 200 and "looks like a secret" in page.content.decode()


def test_a_secret_among_granted_scopes_is_refused(as_admin):
    response = as_admin.post(IDENTITIES, {**NEW_IDENTITY, "granted_scopes": [AWS_ACCESS_KEY_ID]}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "granted_scopes"
    assert AWS_ACCESS_KEY_ID not in response.content.decode()


def test_a_change_is_audited_and_rechecks_versions_in_review(
    as_admin, owner, filed_feature, django_capture_on_commit_callbacks
):
    registration_submit(actor=owner, feature=filed_feature)
    with django_capture_on_commit_callbacks(execute=True):
        response = as_admin.patch(
            f"{IDENTITIES}/reco-reader", {"granted_scopes": ["profile:read", "orders:write"]}, format="json"
        )
    assert response.status_code == 200, response.json()
    assert response.json()["granted_scopes"] == ["profile:read", "orders:write"]
    assert response.json()["team"] == ServiceIdentity.objects.get(name="reco-reader").team.slug  # untouched
    assert AuditEvent.objects.filter(action="identity.changed").count() == 1
    assert filed_feature.versions.get().status == RegistrationStatus.SUBMITTED
    assert filed_feature.findings.filter(rule_id="overprivileged-identity").exists()


def test_invalid_catalogue_input_is_refused_field_by_field(as_admin, registry_catalogue):
    wrong = as_admin.post(SIGNALS, {**NEW_SIGNAL, "sensitivity": "extreme", "colour": "red"}, format="json")
    assert {e["field"] for e in wrong.json()["errors"]} == {"sensitivity", "colour"}
    assert "extreme" not in wrong.content.decode()  # a refusal lists the choices, never repeats the input
    unknown_team = as_admin.post(IDENTITIES, {**NEW_IDENTITY, "team": "nobody"}, format="json")
    assert unknown_team.status_code == 400 and unknown_team.json()["errors"][0]["field"] == "team"


def test_a_declared_entry_cannot_be_deleted(as_admin, filed_feature):
    response = as_admin.delete(f"{SIGNALS}/locale")
    assert response.status_code == 409 and response.json()["code"] == "in_use"
    assert Signal.objects.filter(key="locale").exists()
    assert not AuditEvent.objects.filter(action="signal.deleted").exists()


def test_an_unused_entry_is_deleted_and_audited(as_admin, registry_catalogue):
    assert as_admin.delete(f"{IDENTITIES}/reco-profile-reader").status_code == 204
    assert not ServiceIdentity.objects.filter(name="reco-profile-reader").exists()
    assert AuditEvent.objects.filter(action="identity.deleted").count() == 1
    assert as_admin.get(f"{IDENTITIES}/reco-profile-reader").status_code == 404


def test_an_administrators_token_with_the_catalogue_scope_writes_the_catalogue(api_client, administrator, token_header):
    headers = token_header(administrator, scopes=[TokenScope.CATALOGUE_WRITE])

    response = api_client.post(SIGNALS, NEW_SIGNAL, format="json", headers=headers)

    assert response.status_code == 201
    assert Signal.objects.filter(key=NEW_SIGNAL["key"]).exists()


def test_a_key_or_name_another_entry_holds_is_a_conflict(as_admin, registry_catalogue):
    taken_key = as_admin.post(SIGNALS, {**NEW_SIGNAL, "key": "locale"}, format="json")
    other = as_admin.post(SIGNALS, NEW_SIGNAL, format="json").json()["key"]
    renamed_onto = as_admin.patch(f"{SIGNALS}/{other}", {"key": "locale"}, format="json")

    for response in (taken_key, renamed_onto):
        assert response.status_code == 409
        assert response.json()["code"] == "conflict"
        assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("key", "unique")]
