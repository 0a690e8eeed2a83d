"""The thin commands around packs: export one, print the public key (verify: tests/evidence/test_verify.py)."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from governance.evidence import signing
from governance.evidence.verify import verify_pack
from tests.evidence.test_pack_support import registry_with_history, use_temporary_signing_key


@pytest.fixture(autouse=True)
def signing_key(settings, tmp_path):
    use_temporary_signing_key(settings, tmp_path)


def test_export_writes_a_pack_that_verifies(owner, reviewer, team, tmp_path):
    registry_with_history(owner, reviewer, team)
    out = tmp_path / "pack.zip"
    stdout = io.StringIO()

    call_command("export_evidence", "--scope", "team:recommendations", "--out", str(out), stdout=stdout)

    assert "1 feature(s) of team recommendations" in stdout.getvalue()
    result = verify_pack(out, public_key_pem=signing.public_key_pem())
    assert result.ok, result.problems
    assert result.manifest["scope"]["key"] == "recommendations"


def test_export_as_of_a_date_takes_the_end_of_that_day(owner, reviewer, team, tmp_path):
    registry_with_history(owner, reviewer, team)
    out = tmp_path / "pack.zip"

    call_command("export_evidence", "--as-of", "2026-01-31", "--out", str(out), stdout=io.StringIO())

    manifest = verify_pack(out, public_key_pem=signing.public_key_pem()).manifest
    assert manifest["as_of"] == "2026-01-31T23:59:59.999999+00:00"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--scope", "team:nobody"], "No team called nobody"),
        (["--scope", "planet:earth"], "not 'planet'"),
        (["--as-of", "31/01/2026"], "--as-of takes a date"),
    ],
)
def test_export_refuses_a_bad_request_and_leaves_no_file(db, tmp_path, arguments, message):
    out = tmp_path / "pack.zip"

    with pytest.raises(CommandError, match=message):
        call_command("export_evidence", *arguments, "--out", str(out), stdout=io.StringIO())

    assert list(tmp_path.glob("pack.zip*")) == []


def test_the_public_key_command_prints_the_pem_that_verifies_packs(db):
    stdout = io.StringIO()

    call_command("evidence_public_key", stdout=stdout)

    assert stdout.getvalue().encode() == signing.public_key_pem()
    assert stdout.getvalue().startswith("-----BEGIN PUBLIC KEY-----")


def test_the_public_key_command_prints_the_fingerprint_manifests_carry(db):
    stdout = io.StringIO()

    call_command("evidence_public_key", "--fingerprint", stdout=stdout)

    assert stdout.getvalue().strip() == signing.fingerprint(signing.load_public_key(signing.public_key_pem()))
