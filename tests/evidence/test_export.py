"""Asking for an evidence pack and building it in the background: governance/evidence/services.py, tasks.py."""

import datetime
import hashlib
import zipfile

import pytest
from django.utils import timezone

from features.services import NotAllowed, feature_create, registration_submit
from governance.audit.chain import verify
from governance.audit.models import AuditEvent
from governance.evidence import services
from governance.evidence.models import EvidencePack, PackStatus
from governance.evidence.pack import PackScope
from governance.evidence.services import EvidenceRequestInvalid, evidence_request
from governance.evidence.signing import public_key_pem
from governance.evidence.tasks import build_evidence_pack
from governance.evidence.verify import verify_pack
from tests.factories import TeamFactory, catalogue_for, complete_declaration

pytestmark = pytest.mark.django_db

TEAM = PackScope(kind="team", key="recommendations")


@pytest.fixture(autouse=True)
def evidence_dir(settings, tmp_path):
    settings.EVIDENCE_DIR = tmp_path / "evidence"
    settings.EVIDENCE_SIGNING_KEY_FILE = str(tmp_path / "signing-key.pem")
    return settings.EVIDENCE_DIR


@pytest.fixture
def features(owner, team):
    """Three features of the Recommendations team, filed and submitted through the registry's services."""
    declaration = complete_declaration()
    catalogue_for(declaration)
    filed = []
    for n in range(3):
        feature = feature_create(actor=owner, key=f"reco-{n}", name=f"Reco {n}", team=team, declaration=declaration)
        registration_submit(actor=owner, feature=feature)
        filed.append(feature)
    return filed


def export(actor, scope=TEAM, as_of=None, *, capture):
    with capture(execute=True):
        pack = evidence_request(actor=actor, scope=scope, as_of=as_of)
    pack.refresh_from_db()
    return pack


def test_a_requested_pack_is_built_and_ready_with_the_hash_of_its_file(
    auditor, features, django_capture_on_commit_callbacks, evidence_dir
):
    pack = export(auditor, capture=django_capture_on_commit_callbacks)

    assert pack.status == PackStatus.READY, pack.error
    assert pack.path.parent == evidence_dir
    assert pack.sha256 == hashlib.sha256(pack.path.read_bytes()).hexdigest()
    assert pack.size == pack.path.stat().st_size
    assert zipfile.is_zipfile(pack.path)
    assert pack.started_at <= pack.finished_at
    assert pack.file_name.startswith("evidence-team-recommendations-")
    assert list(evidence_dir.glob("*.part")) == []


def test_a_ready_pack_verifies_against_the_deployment_public_key(
    reviewer, features, django_capture_on_commit_callbacks
):
    pack = export(reviewer, capture=django_capture_on_commit_callbacks)

    verification = verify_pack(pack.path, public_key_pem=public_key_pem())

    assert verification.ok, verification.problems


def test_the_build_records_its_progress_on_the_pack(auditor, features, django_capture_on_commit_callbacks):
    pack = export(auditor, capture=django_capture_on_commit_callbacks)

    assert pack.feature_count == 3
    assert pack.progress_total >= pack.feature_count
    assert pack.progress_done == pack.progress_total


def test_progress_is_written_at_most_every_two_percent_and_half_a_second(auditor):
    pack = EvidencePack.objects.create(requested_by=auditor, scope_kind="registry")
    ticks = iter(range(10_000))
    recorder = services._ProgressRecorder(pack.pk, clock=lambda: next(ticks) * 0.01)  # a feature every 10 ms
    seen = []

    for done in range(1, 1001):
        recorder(done, 1000)
        pack.refresh_from_db()
        seen.append(pack.progress_done)

    # 1000 features over 10 s: one write per 0.5 s (50 features), not one per feature.
    assert recorder.writes <= 21
    assert seen[-1] == 1000
    assert pack.progress_total == 1000
    assert 0 < seen[499] < 1000  # a poller half-way through saw the bar half-way


def test_a_slow_build_still_writes_no_more_than_every_two_percent(auditor):
    pack = EvidencePack.objects.create(requested_by=auditor, scope_kind="registry")
    ticks = iter(range(10_000))
    recorder = services._ProgressRecorder(pack.pk, clock=lambda: float(next(ticks)))  # a feature a second

    for done in range(1, 1001):
        recorder(done, 1000)

    assert recorder.writes <= 51


def test_requesting_and_exporting_are_audit_events(auditor, features, django_capture_on_commit_callbacks):
    pack = export(auditor, capture=django_capture_on_commit_callbacks)

    requested, exported = AuditEvent.objects.filter(object_type="evidence.evidencepack", object_id=str(pack.pk))
    assert (requested.action, requested.actor_label) == ("evidence.requested", "auditor")
    assert requested.payload == {"scope": "team", "key": "recommendations", "as_of": None}
    assert exported.action == "evidence.exported"
    assert exported.payload["sha256"] == pack.sha256
    assert exported.payload["size"] == pack.size
    # The manifest seals the chain as it stood when the pack was built: up to the request, not the export.
    with zipfile.ZipFile(pack.path) as archive:
        manifest = archive.read("manifest.json").decode()
    assert requested.hash in manifest
    assert requested.hash in str(exported.payload["audit_head"])
    assert verify().ok


def test_an_owner_may_not_export_evidence(owner, features):
    with pytest.raises(NotAllowed):
        evidence_request(actor=owner, scope=TEAM, as_of=None)
    assert not EvidencePack.objects.exists()
    assert not AuditEvent.objects.filter(action="evidence.requested").exists()


def test_an_as_of_date_in_the_future_is_refused(auditor, features):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    with pytest.raises(EvidenceRequestInvalid) as refused:
        evidence_request(actor=auditor, scope=TEAM, as_of=tomorrow)

    assert "as_of" in refused.value.errors
    assert not EvidencePack.objects.exists()


def test_today_and_past_days_are_accepted_and_passed_to_the_builder_as_the_end_of_that_day(
    auditor, features, django_capture_on_commit_callbacks, monkeypatch
):
    moments = []
    real = services.build_pack

    def spy(**kwargs):
        moments.append(kwargs["as_of"])
        return real(**kwargs)

    monkeypatch.setattr(services, "build_pack", spy)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)

    past = export(auditor, as_of=yesterday, capture=django_capture_on_commit_callbacks)
    today = export(auditor, as_of=timezone.localdate(), capture=django_capture_on_commit_callbacks)

    assert (past.status, today.status) == (PackStatus.READY, PackStatus.READY)
    assert moments[0] == datetime.datetime.combine(yesterday, datetime.time.max, tzinfo=datetime.UTC)
    assert moments[1] <= timezone.now()  # "as of today" is "so far", never a moment still to come
    assert past.file_name.endswith(f"-{yesterday:%Y-%m-%d}-{past.pk}.zip")


@pytest.mark.parametrize(
    ("scope", "field"),
    [
        (PackScope(kind="team", key="no-such-team"), "team"),
        (PackScope(kind="team", key=None), "team"),
        (PackScope(kind="feature", key="no-such-feature"), "feature"),
    ],
)
def test_an_unknown_team_or_feature_is_refused(auditor, features, scope, field):
    with pytest.raises(EvidenceRequestInvalid) as refused:
        evidence_request(actor=auditor, scope=scope, as_of=None)

    assert list(refused.value.errors) == [field]
    assert not EvidencePack.objects.exists()


def test_a_feature_and_the_whole_registry_can_be_exported(
    administrator, features, other_team, django_capture_on_commit_callbacks
):
    TeamFactory(slug="search")
    one = export(administrator, PackScope(kind="feature", key="reco-1"), capture=django_capture_on_commit_callbacks)
    everything = export(administrator, PackScope(kind="registry"), capture=django_capture_on_commit_callbacks)

    assert (one.status, everything.status) == (PackStatus.READY, PackStatus.READY)
    assert one.feature_count == 1
    assert everything.scope_key == ""
    assert everything.file_name.startswith("evidence-registry-")


def test_an_interrupted_build_is_rebuilt_from_scratch(auditor, features, evidence_dir):
    pack = EvidencePack.objects.create(
        requested_by=auditor,
        scope_kind="team",
        scope_key="recommendations",
        status=PackStatus.BUILDING,
        progress_done=2,
        progress_total=3,
        started_at=timezone.now() - datetime.timedelta(minutes=5),
    )
    evidence_dir.mkdir(parents=True)
    stale = evidence_dir / f".pack-{pack.pk}-crashed.part"
    stale.write_bytes(b"PK\x03\x04 half a zip from a worker that died")

    build_evidence_pack.delay(pack.pk)  # the broker redelivers the task of the worker that was lost

    pack.refresh_from_db()
    assert pack.status == PackStatus.READY, pack.error
    assert not stale.exists()
    assert pack.sha256 == hashlib.sha256(pack.path.read_bytes()).hexdigest()
    assert verify_pack(pack.path, public_key_pem=public_key_pem()).ok
    assert AuditEvent.objects.filter(action="evidence.exported", object_id=str(pack.pk)).count() == 1


def test_a_ready_pack_is_left_alone_when_the_task_runs_again(auditor, features, django_capture_on_commit_callbacks):
    pack = export(auditor, capture=django_capture_on_commit_callbacks)
    built = pack.path.read_bytes()
    events = AuditEvent.objects.count()

    build_evidence_pack.delay(pack.pk)

    pack.refresh_from_db()
    assert pack.status == PackStatus.READY
    assert pack.path.read_bytes() == built
    assert AuditEvent.objects.count() == events


def test_a_failed_build_says_why_and_leaves_no_file(
    auditor, features, django_capture_on_commit_callbacks, monkeypatch, evidence_dir
):
    def broken(**kwargs):
        kwargs["destination"].write(b"PK partial")
        raise RuntimeError("the report renderer ran out of disk")

    monkeypatch.setattr(services, "build_pack", broken)

    pack = export(auditor, capture=django_capture_on_commit_callbacks)

    assert pack.status == PackStatus.FAILED
    assert pack.error == "The pack could not be built: the report renderer ran out of disk"
    assert pack.file_name == "" and pack.sha256 == ""
    assert list(evidence_dir.iterdir()) == []
    failed = AuditEvent.objects.get(action="evidence.failed")
    assert failed.payload == {"error": pack.error}


def test_a_task_for_a_pack_that_no_longer_exists_does_nothing():
    assert build_evidence_pack.delay(424242).get() is None
