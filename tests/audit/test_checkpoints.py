"""Checkpoints kept outside the database (governance/audit/checkpoints.py): written down, or an evidence pack."""

import datetime
import json
import zipfile

import pytest
from django.utils import timezone

from governance.audit.chain import Checkpoint, head, record, verify
from governance.audit.checkpoints import CheckpointUnreadable, checkpoints_from
from governance.audit.models import GENESIS_HASH
from tests.audit.packs import build_registry_pack
from tests.audit.tampering import remove
from tests.evidence.test_pack_support import use_temporary_signing_key

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def signing_key(settings, tmp_path):
    use_temporary_signing_key(settings, tmp_path)


@pytest.fixture
def trail():
    """Five events, the first two a day old (so a pack as of yesterday sees two)."""
    yesterday = timezone.now() - datetime.timedelta(days=1)
    events = [record(actor=None, action="feature.created", payload={"n": n}, at=yesterday) for n in range(2)]
    return events + [record(actor=None, action="feature.created", payload={"n": n}) for n in range(2, 5)]


def test_a_written_down_head_is_a_checkpoint(trail):
    (checkpoint,) = checkpoints_from(f"5:{trail[-1].hash.upper()}")
    assert checkpoint == Checkpoint(5, trail[-1].hash, source=f"checkpoint 5:{trail[-1].hash[:16]}…")


def test_an_evidence_pack_records_the_head_it_was_built_at(trail, tmp_path):
    pack = tmp_path / "pack.zip"
    build_registry_pack(pack)
    (checkpoint,) = checkpoints_from(str(pack))
    assert (checkpoint.sequence, checkpoint.hash, checkpoint.source) == (
        5,
        trail[-1].hash,
        "pack.zip (audit_chain_head)",
    )


def test_a_pack_as_of_a_past_day_records_the_chain_then_as_well(trail, tmp_path):
    pack = tmp_path / "pack.zip"
    build_registry_pack(pack, as_of=timezone.now() - datetime.timedelta(hours=12))
    head_, as_of = checkpoints_from(str(pack))
    assert (head_.sequence, as_of.sequence, as_of.hash) == (5, 2, trail[1].hash)
    assert as_of.source == "pack.zip (audit_chain_as_of)"


def test_the_manifest_alone_is_enough(trail, tmp_path):
    pack = tmp_path / "pack.zip"
    build_registry_pack(pack)
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(zipfile.ZipFile(pack).read("manifest.json"))
    assert checkpoints_from(str(manifest))[0].sequence == 5


def test_the_pack_of_an_empty_trail_records_the_start(tmp_path):
    pack = tmp_path / "pack.zip"
    build_registry_pack(pack)
    assert checkpoints_from(str(pack)) == [Checkpoint(0, GENESIS_HASH, source="pack.zip (audit_chain_head)")]


def test_the_packs_checkpoint_catches_a_cut_off_end(trail, tmp_path):
    pack = tmp_path / "pack.zip"
    build_registry_pack(pack)
    remove(4, 5)
    assert verify().ok
    result = verify(checkpoints=checkpoints_from(str(pack)))
    assert (result.ok, result.first_broken_sequence) == (False, 4)
    assert "pack.zip (audit_chain_head) recorded event 5: events 4–5 are missing" in result.problem


def test_events_after_the_pack_are_fine(trail, tmp_path):
    pack = tmp_path / "pack.zip"
    build_registry_pack(pack)
    record(actor=None, action="evidence.downloaded")
    result = verify(checkpoints=checkpoints_from(str(pack)))
    assert (result.ok, result.checkpoints_matched, head()[0]) == (True, 1, 6)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\x89PNG not a manifest", "neither an evidence pack nor a JSON manifest"),
        (b"[1, 2]", "not a JSON object"),
        (b"{}", "records no audit chain position"),
        (json.dumps({"audit_chain_head": {"sequence": 3}}).encode(), "audit_chain_head is not a chain position"),
        (json.dumps({"audit_chain_head": {"sequence": 3, "hash": "x"}}).encode(), "is not a chain position"),
    ],
)
def test_an_unusable_checkpoint_file_is_refused_with_the_reason(tmp_path, content, problem):
    path = tmp_path / "manifest.json"
    path.write_bytes(content)
    with pytest.raises(CheckpointUnreadable, match=problem):
        checkpoints_from(str(path))


def test_a_zip_without_a_manifest_and_a_missing_file_are_refused(tmp_path):
    archive = tmp_path / "other.zip"
    with zipfile.ZipFile(archive, "w") as zip_file:
        zip_file.writestr("readme.txt", "hello")
    with pytest.raises(CheckpointUnreadable, match=r"an archive without manifest\.json"):
        checkpoints_from(str(archive))
    with pytest.raises(CheckpointUnreadable, match="cannot be read"):
        checkpoints_from(str(tmp_path / "missing.zip"))
