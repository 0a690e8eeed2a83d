"""`manage.py verify_audit` exits 0 on an intact chain and 1 naming the first broken link."""

import io

import pytest
from django.core.management import CommandError, call_command

from governance.audit.chain import head, record
from tests.audit.packs import build_registry_pack
from tests.audit.tampering import remove, tamper
from tests.evidence.test_pack_support import use_temporary_signing_key

pytestmark = pytest.mark.django_db


def run() -> str:
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def test_verify_audit_reports_an_intact_chain_and_its_head():
    events = [record(actor=None, action="feature.created", payload={"n": n}) for n in range(3)]
    assert run().strip() == f"Audit chain intact: 3 events, head 3 {events[-1].hash}"


def test_verify_audit_fails_with_exit_code_1_at_the_altered_event():
    for n in range(3):
        record(actor=None, action="feature.created", payload={"n": n})
    tamper(2, action="feature.deleted")
    with pytest.raises(CommandError, match="broken at event 2: event 2 was altered") as failure:
        run()
    assert failure.value.returncode == 1


def test_verify_audit_exits_1_from_the_command_line():
    record(actor=None, action="feature.created")
    tamper(1, object_label="forged")
    with pytest.raises(SystemExit) as exit_status:
        from django.core.management import ManagementUtility

        ManagementUtility(["manage.py", "verify_audit"]).execute()
    assert exit_status.value.code == 1


# --- --checkpoint: an evidence pack or a written-down head ------------------------------------------------------


@pytest.fixture
def pack_of_five(settings, tmp_path):
    """Five events, then an evidence pack of the registry recording event 5 as the head."""
    use_temporary_signing_key(settings, tmp_path)
    for n in range(5):
        record(actor=None, action="feature.created", payload={"n": n})
    pack = tmp_path / "pack.zip"
    build_registry_pack(pack)
    return pack


def test_verify_audit_says_the_chain_holds_the_packs_checkpoint(pack_of_five):
    out = io.StringIO()
    call_command("verify_audit", "--checkpoint", str(pack_of_five), stdout=out)
    assert out.getvalue().strip().endswith("; it holds all 1 checkpoints given")


def test_verify_audit_exits_1_when_the_end_of_the_trail_was_cut_off_after_the_pack(pack_of_five):
    remove(3, 4, 5)
    run()  # alone, what is left verifies
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit", "--checkpoint", str(pack_of_five))
    assert failure.value.returncode == 1
    assert str(failure.value) == (
        "Audit chain broken at event 3: the trail ends at event 2, but pack.zip (audit_chain_head) recorded "
        "event 5: events 3–5 are missing (the end of the trail was cut off). 2 events verified before it."
    )


def test_verify_audit_takes_a_written_down_head_and_several_checkpoints(pack_of_five):
    sequence, hash_ = head()
    out = io.StringIO()
    call_command("verify_audit", "--checkpoint", f"{sequence}:{hash_}", "--checkpoint", str(pack_of_five), stdout=out)
    assert "holds all 2 checkpoints given" in out.getvalue()


def test_verify_audit_exits_2_when_a_checkpoint_cannot_be_read(tmp_path):
    with pytest.raises(CommandError, match=r"Checkpoint not usable: .*cannot be read") as failure:
        call_command("verify_audit", "--checkpoint", str(tmp_path / "missing.zip"))
    assert failure.value.returncode == 2
