"""The evidence pages: governance/evidence/views.py and templates/evidence/evidence.html."""

import datetime
import re
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from features.services import feature_create
from governance.audit.models import AuditEvent
from governance.evidence.models import EvidencePack, PackStatus
from governance.evidence.signing import public_key_pem
from governance.evidence.verify import verify_pack
from tests.factories import catalogue_for, complete_declaration

pytestmark = pytest.mark.django_db

PAGE = "/evidence/"


@pytest.fixture(autouse=True)
def evidence_dir(settings, tmp_path):
    settings.EVIDENCE_DIR = tmp_path / "evidence"
    settings.EVIDENCE_SIGNING_KEY_FILE = str(tmp_path / "signing-key.pem")
    return settings.EVIDENCE_DIR


@pytest.fixture
def feature(owner, team):
    declaration = complete_declaration()
    catalogue_for(declaration)
    return feature_create(actor=owner, key="reco-locale", name="Locale ordering", team=team, declaration=declaration)


@pytest.fixture
def ready_pack(client, auditor, feature, django_capture_on_commit_callbacks):
    client.force_login(auditor)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(PAGE, {"scope": "team", "team": "recommendations"})
    pack = EvidencePack.objects.get()
    assert pack.status == PackStatus.READY, pack.error
    return pack


def shown_messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_page_offers_the_request_form_and_lists_packs_newest_first(client, auditor, reviewer, feature):
    older = EvidencePack.objects.create(requested_by=reviewer, scope_kind="registry", status=PackStatus.FAILED)
    newer = EvidencePack.objects.create(requested_by=auditor, scope_kind="team", scope_key="recommendations")
    EvidencePack.objects.filter(pk=older.pk).update(requested_at=timezone.now() - datetime.timedelta(hours=1))
    client.force_login(auditor)

    page = client.get(PAGE)

    assert page.status_code == 200
    html = page.text
    assert 'name="scope"' in html and 'name="team"' in html and 'name="feature"' in html and 'name="as_of"' in html
    assert '<option value="recommendations">Recommendations</option>' in html
    assert '<option value="reco-locale">' in html
    rows = re.findall(r'<tr id="pack-(\d+)"', html)
    assert rows == [str(newer.pk), str(older.pk)]  # a reviewer's pack is listed for the auditor too


def test_a_page_without_inline_script_or_style(client, auditor, feature):
    client.force_login(auditor)
    html = client.get(PAGE).text
    assert " style=" not in html
    assert "<style" not in html
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []


def test_an_auditor_requests_a_pack_and_is_sent_back_to_the_list(
    client, auditor, feature, django_capture_on_commit_callbacks
):
    client.force_login(auditor)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(PAGE, {"scope": "feature", "feature": "reco-locale", "as_of": ""})

    assert response.status_code == 302
    assert response.url == PAGE
    pack = EvidencePack.objects.get()
    assert len(callbacks) == 1  # the build was queued only once the request had committed
    assert shown_messages(response) == [f"Evidence pack {pack.pk} requested: Feature reco-locale."]
    assert (pack.scope_kind, pack.scope_key, pack.status) == ("feature", "reco-locale", PackStatus.READY)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"scope": "team", "team": "no-such-team"}, "team", "No team called no-such-team."),
        ({"scope": "feature", "feature": ""}, "feature", "Name the feature to export."),
        ({"scope": "registry", "as_of": "2999-01-01"}, "as_of", "An evidence pack shows the past"),
        ({"scope": "registry", "as_of": "not a date"}, "as_of", "Enter a valid date."),
    ],
)
def test_a_refused_request_shows_why_next_to_the_field(client, reviewer, feature, data, field, message):
    client.force_login(reviewer)

    response = client.post(PAGE, data)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert message in errors[field][0]
    assert message.split(".")[0] in response.text
    assert not EvidencePack.objects.exists()


def test_owners_are_refused_every_evidence_page_but_the_public_key(client, owner, feature):
    pack = EvidencePack.objects.create(requested_by=owner, scope_kind="registry")
    client.force_login(owner)

    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"scope": "registry"}).status_code == 403
    assert client.get(f"/evidence/{pack.pk}/status/").status_code == 403
    assert client.get(f"/evidence/{pack.pk}/download/").status_code == 403
    assert client.get("/evidence/public-key.pem").status_code == 200
    assert EvidencePack.objects.count() == 1


def test_anonymous_visitors_are_sent_to_log_in(client):
    for url in (PAGE, "/evidence/1/status/", "/evidence/1/download/", "/evidence/public-key.pem"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_a_pending_pack_row_polls_its_status_every_second(client, auditor):
    pack = EvidencePack.objects.create(
        requested_by=auditor, scope_kind="registry", status=PackStatus.BUILDING, progress_done=30, progress_total=120
    )
    client.force_login(auditor)

    fragment = client.get(f"/evidence/{pack.pk}/status/", headers={"HX-Request": "true"}).text

    assert fragment.lstrip().startswith(f'<tr id="pack-{pack.pk}"')
    assert f'hx-get="/evidence/{pack.pk}/status/"' in fragment
    assert 'hx-trigger="every 1s"' in fragment
    assert '<progress max="120" value="30"' in fragment
    assert "25% done" in fragment
    assert "<html" not in fragment


def test_a_ready_pack_row_stops_polling_and_offers_the_download(client, ready_pack):
    fragment = client.get(f"/evidence/{ready_pack.pk}/status/").text

    assert "hx-trigger" not in fragment
    assert "<progress" not in fragment
    assert f'href="/evidence/{ready_pack.pk}/download/"' in fragment
    assert ready_pack.sha256[:12] in fragment


def test_a_failed_pack_row_says_why(client, auditor):
    pack = EvidencePack.objects.create(
        requested_by=auditor, scope_kind="registry", status=PackStatus.FAILED, error="The pack could not be built: x"
    )
    client.force_login(auditor)

    fragment = client.get(f"/evidence/{pack.pk}/status/").text

    assert "hx-trigger" not in fragment
    assert "The pack could not be built: x" in fragment


def test_the_download_is_an_uncached_attachment_that_verifies(client, ready_pack, tmp_path):
    response = client.get(f"/evidence/{ready_pack.pk}/download/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="{ready_pack.file_name}"'
    assert response["Cache-Control"] == "no-store"
    downloaded = tmp_path / "downloaded.zip"
    downloaded.write_bytes(b"".join(response.streaming_content))
    assert verify_pack(downloaded, public_key_pem=public_key_pem()).ok


def test_downloading_is_an_audit_event(client, reviewer, ready_pack):
    client.force_login(reviewer)

    b"".join(client.get(f"/evidence/{ready_pack.pk}/download/").streaming_content)

    event = AuditEvent.objects.get(action="evidence.downloaded")
    assert event.actor_label == "reviewer"
    assert event.object_id == str(ready_pack.pk)
    assert event.payload == {"file": ready_pack.file_name, "sha256": ready_pack.sha256}


def test_a_pack_that_is_not_ready_cannot_be_downloaded(client, auditor):
    pack = EvidencePack.objects.create(requested_by=auditor, scope_kind="registry")
    client.force_login(auditor)

    response = client.get(f"/evidence/{pack.pk}/download/")

    assert response.status_code == 302
    assert shown_messages(response) == [f"Pack {pack.pk} is queued, not ready to download."]
    assert not AuditEvent.objects.filter(action="evidence.downloaded").exists()


def test_a_pack_whose_file_was_altered_is_not_handed_out(client, ready_pack):
    path: Path = ready_pack.path
    path.write_bytes(path.read_bytes() + b"tampered")

    response = client.get(f"/evidence/{ready_pack.pk}/download/")

    assert response.status_code == 302
    assert "no longer matches the hash" in shown_messages(response)[-1]
    assert not AuditEvent.objects.filter(action="evidence.downloaded").exists()


def test_an_unknown_pack_is_not_found(client, auditor):
    client.force_login(auditor)
    assert client.get("/evidence/999/status/").status_code == 404
    assert client.get("/evidence/999/download/").status_code == 404


def test_any_logged_in_person_reads_the_public_key(client, other_owner):
    client.force_login(other_owner)

    response = client.get("/evidence/public-key.pem")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == public_key_pem()
    assert response.content.startswith(b"-----BEGIN PUBLIC KEY-----")
