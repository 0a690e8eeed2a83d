"""The evidence endpoints (governance/evidence/api.py): ask for a pack, follow it, download it, verify it."""

import datetime
import hashlib
import io
import zipfile

import pytest
from django.utils import timezone

from features.services import feature_create
from governance.audit.models import AuditEvent
from governance.evidence.models import EvidencePack, PackStatus
from governance.evidence.signing import public_key_pem
from tests.factories import FeatureFactory, catalogue_for, complete_declaration

pytestmark = pytest.mark.django_db

PACKS = "/api/v1/evidence/packs"


@pytest.fixture(autouse=True)
def evidence_dir(settings, tmp_path):
    settings.EVIDENCE_DIR = tmp_path / "evidence"
    settings.EVIDENCE_SIGNING_KEY_FILE = str(tmp_path / "evidence-signing-key.pem")


@pytest.fixture
def feature(owner, team):
    declaration = complete_declaration()
    catalogue_for(declaration)
    return feature_create(actor=owner, key="reco-locale", name="Locale ordering", team=team, declaration=declaration)


@pytest.fixture
def as_auditor(api_client, auditor):
    api_client.force_login(auditor)
    return api_client


def error_fields(response) -> dict[str, str]:
    return {error["field"]: error["message"] for error in response.json()["errors"]}


def test_an_auditor_asks_for_a_pack_follows_it_and_downloads_it(
    as_auditor, auditor, feature, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_auditor.post(PACKS, {"scope": {"kind": "feature", "key": "reco-locale"}}, format="json")

    assert response.status_code == 202, response.content
    assert response["Location"] == response.json()["url"]
    pack = as_auditor.get(response["Location"]).json()
    assert (pack["status"], pack["scope"], pack["requested_by"]) == (
        "ready",
        {"kind": "feature", "key": "reco-locale"},
        "auditor",
    )
    assert pack["progress"]["done"] == pack["progress"]["total"] > 0
    assert pack["progress"]["percent"] == 100
    download = as_auditor.get(pack["download_url"])
    content = b"".join(download.streaming_content)
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    assert download["Cache-Control"] == "no-store"
    assert hashlib.sha256(content).hexdigest() == pack["sha256"]
    assert "manifest.json" in zipfile.ZipFile(io.BytesIO(content)).namelist()
    assert AuditEvent.objects.filter(action="evidence.downloaded", actor=auditor).count() == 1


def test_a_queued_pack_has_no_download_yet(as_auditor, feature):
    response = as_auditor.post(PACKS, {"scope": {"kind": "registry"}, "as_of": None}, format="json")

    body = response.json()
    assert (body["status"], body["download_url"], body["sha256"]) == ("queued", None, "")
    download = as_auditor.get(f"{body['url']}/download")
    assert (download.status_code, download.json()["code"]) == (409, "pack_unavailable")


def test_a_pack_as_of_a_past_day_keeps_the_day(as_auditor, feature):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)

    response = as_auditor.post(
        PACKS, {"scope": {"kind": "team", "key": "recommendations"}, "as_of": str(yesterday)}, format="json"
    )

    assert response.status_code == 202
    assert EvidencePack.objects.get().as_of == yesterday


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"scope": {"kind": "feature", "key": "nope"}}, "scope.key", "No feature with the key nope."),
        ({"scope": {"kind": "team", "key": "nope"}}, "scope.key", "No team called nope."),
        ({"scope": {"kind": "team"}}, "scope.key", "Name the team to export."),
        ({"scope": {"kind": "galaxy"}}, "scope.kind", "Choose one of: registry, team, feature."),
        ({"scope": {"kind": "registry"}, "extra": 1}, "extra", "This field is not part of the format."),
        ({"scope": {"kind": "feature", "key": 5}}, "scope.key", "Enter text (a JSON string)."),
        ({}, "scope", "This field is required."),
        ({"scope": {"kind": "registry"}, "as_of": "2999-01-01"}, "as_of", "An evidence pack shows the past"),
    ],
)
def test_a_refused_request_names_the_field(as_auditor, feature, data, field, message):
    response = as_auditor.post(PACKS, data, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert error_fields(response)[field].startswith(message)
    assert not EvidencePack.objects.exists()


def test_owners_may_not_export(api_client, owner, feature):
    api_client.force_login(owner)

    response = api_client.post(PACKS, {"scope": {"kind": "feature", "key": "reco-locale"}}, format="json")

    assert (response.status_code, response.json()["code"]) == (403, "not_allowed")
    assert api_client.get(PACKS).status_code == 403


def test_an_administrator_token_needs_the_evidence_scope_to_read_too(api_client, token_header, administrator, feature):
    without = token_header(administrator, scopes=["registrations:write"])
    with_scope = token_header(administrator, scopes=["evidence:read"])

    refused = api_client.get(PACKS, headers=without)
    accepted = api_client.post(PACKS, {"scope": {"kind": "registry"}}, format="json", headers=with_scope)

    assert refused.status_code == 401
    assert "lacks the scope evidence:read" in refused.json()["detail"]
    assert accepted.status_code == 202
    assert accepted.json()["requested_by"] == "admin"


def test_a_team_limited_token_exports_only_its_teams(api_client, token_header, administrator, team, other_team):
    FeatureFactory(key="reco-locale", team=team)
    FeatureFactory(key="pay-locale", team=other_team)
    headers = token_header(administrator, scopes=["evidence:read"], teams=[team])

    def ask(kind, key=None):
        return api_client.post(PACKS, {"scope": {"kind": kind, "key": key}}, format="json", headers=headers)

    assert ask("registry").status_code == 403
    assert ask("team", "payments").status_code == 403
    assert ask("feature", "pay-locale").status_code == 403
    assert ask("team", "recommendations").status_code == 202
    assert ask("feature", "reco-locale").status_code == 202
    EvidencePack.objects.create(requested_by=administrator, scope_kind="registry")
    listed = api_client.get(PACKS, headers=headers).json()["results"]
    assert sorted(pack["scope"]["kind"] for pack in listed) == ["feature", "team"]


def test_packs_list_newest_first_and_filter_by_status_and_scope(as_auditor, auditor):
    older = EvidencePack.objects.create(requested_by=auditor, scope_kind="registry", status=PackStatus.FAILED)
    newer = EvidencePack.objects.create(requested_by=auditor, scope_kind="team", scope_key="recommendations")

    assert [p["id"] for p in as_auditor.get(PACKS).json()["results"]] == [newer.pk, older.pk]
    assert [p["id"] for p in as_auditor.get(PACKS, {"status": "failed"}).json()["results"]] == [older.pk]
    assert [p["id"] for p in as_auditor.get(PACKS, {"scope": "team"}).json()["results"]] == [newer.pk]
    assert as_auditor.get(PACKS, {"status": "lost"}).status_code == 400


def test_a_failed_pack_says_why(as_auditor, auditor):
    pack = EvidencePack.objects.create(
        requested_by=auditor, scope_kind="registry", status=PackStatus.FAILED, error="The disk is full."
    )

    body = as_auditor.get(f"{PACKS}/{pack.pk}").json()

    assert (body["status"], body["error"], body["download_url"]) == ("failed", "The disk is full.", None)


def test_an_unknown_pack_is_not_found(as_auditor):
    response = as_auditor.get(f"{PACKS}/999")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_a_pack_whose_file_was_altered_is_not_handed_out(
    as_auditor, feature, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        url = as_auditor.post(PACKS, {"scope": {"kind": "registry"}}, format="json").json()["url"]
    pack = EvidencePack.objects.get()
    (settings.EVIDENCE_DIR / pack.file_name).write_bytes(b"tampered")

    response = as_auditor.get(f"{url}/download")

    assert response.status_code == 409
    assert "no longer matches" in response.json()["detail"]


def test_the_download_answers_a_zip_whatever_the_client_accepts(as_auditor, auditor, settings):
    settings.EVIDENCE_DIR.mkdir(parents=True)
    (settings.EVIDENCE_DIR / "p.zip").write_bytes(b"zip")
    pack = EvidencePack.objects.create(
        requested_by=auditor,
        scope_kind="registry",
        status=PackStatus.READY,
        file_name="p.zip",
        sha256=hashlib.sha256(b"zip").hexdigest(),
    )

    response = as_auditor.get(f"{PACKS}/{pack.pk}/download", headers={"Accept": "application/zip"})

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"zip"


def test_anyone_signed_in_reads_the_public_key(api_client, other_owner):
    api_client.force_login(other_owner)

    response = api_client.get("/api/v1/evidence/public-key")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-pem-file"
    assert response.content == public_key_pem()
