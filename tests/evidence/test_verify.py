"""Verifying a pack offline: the signature, then every file; with our code and with standard tools."""

import io
import json
import re
import shutil
import subprocess
import zipfile

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError

from governance.evidence.verify import verify_pack
from tests.evidence.test_pack import EXPECTED_FILES
from tests.evidence.test_pack_support import build_shared_pack, flip_one_byte, rewrite_member

# The pack is built once per module (see `shared`); the marker makes pytest-django set up the test database.
pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def shared(django_db_setup, django_db_blocker, tmp_path_factory):
    return build_shared_pack(django_db_blocker, tmp_path_factory.mktemp("keys"))


@pytest.fixture
def unpacked(shared, tmp_path):
    folder = tmp_path / "pack"
    with zipfile.ZipFile(io.BytesIO(shared.data)) as archive:
        archive.extractall(folder)
    (tmp_path / "evidence-public-key.pem").write_bytes(shared.public_key_pem)
    return folder


def other_public_key() -> bytes:
    return (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def test_an_untouched_pack_verifies(shared):
    result = verify_pack(io.BytesIO(shared.data), public_key_pem=shared.public_key_pem)

    assert (result.ok, result.problems, result.files_checked) == (True, [], len(EXPECTED_FILES) - 2)
    assert result.manifest["scope"]["kind"] == "registry"


@pytest.mark.parametrize("name", EXPECTED_FILES)
def test_changing_one_byte_of_any_file_fails_verification_naming_it(shared, name):
    tampered = rewrite_member(shared.data, name, flip_one_byte)

    result = verify_pack(io.BytesIO(tampered), public_key_pem=shared.public_key_pem)

    assert not result.ok
    # The first problem names the file as a word of its own ("manifest.json.sig: … verify manifest.json …").
    assert re.search(rf"(^|\s){re.escape(name)}(:|\s)", result.problems[0]), result.problems[0]


def test_a_pack_checked_with_another_key_fails_on_the_signature(shared):
    result = verify_pack(io.BytesIO(shared.data), public_key_pem=other_public_key())

    assert not result.ok
    assert result.problems[0].startswith("manifest.json.sig: the signature does not verify")


def test_a_file_slipped_into_the_pack_fails_verification(shared):
    target = io.BytesIO(shared.data)
    with zipfile.ZipFile(target, "a") as archive:
        archive.writestr("extra.txt", "not in the manifest")

    result = verify_pack(target, public_key_pem=shared.public_key_pem)

    assert result.problems == ["extra.txt: in the pack but not in the manifest"]


def test_a_file_taken_out_of_the_pack_fails_verification(shared):
    source, target = zipfile.ZipFile(io.BytesIO(shared.data)), io.BytesIO()
    with source, zipfile.ZipFile(target, "w") as copy:
        for info in source.infolist():
            if info.filename != "report.pdf":
                copy.writestr(info, source.read(info.filename))

    result = verify_pack(target, public_key_pem=shared.public_key_pem)

    assert result.problems == ["report.pdf: listed in the manifest but missing from the pack"]


def test_something_that_is_not_a_zip_fails_verification(shared):
    result = verify_pack(io.BytesIO(b"not a zip"), public_key_pem=shared.public_key_pem)

    assert not result.ok
    assert result.problems[0].startswith("not a readable ZIP archive")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl on PATH")
def test_openssl_verifies_the_manifest_signature(unpacked):
    """The README's command: Ed25519 needs `-rawin` (OpenSSL 3.0 or later)."""
    version = subprocess.run(["openssl", "version"], capture_output=True, text=True, check=True).stdout  # noqa: S607
    if not version.startswith("OpenSSL 3"):
        pytest.skip(f"pkeyutl -rawin needs OpenSSL 3: {version}")

    result = subprocess.run(
        [  # noqa: S607
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "../evidence-public-key.pem",
            "-rawin",
            "-in",
            "manifest.json",
            "-sigfile",
            "manifest.json.sig",
        ],
        cwd=unpacked,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
    assert "Signature Verified Successfully" in result.stdout


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="needs sha256sum on PATH")
def test_sha256sum_checks_every_file_of_an_unpacked_pack(unpacked):
    result = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"],  # noqa: S607
        cwd=unpacked,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": OK") == len(EXPECTED_FILES) - 3


def test_the_verify_command_exits_0_for_an_intact_pack(shared, tmp_path):
    pack, key = tmp_path / "pack.zip", tmp_path / "key.pem"
    pack.write_bytes(shared.data)
    key.write_bytes(shared.public_key_pem)
    out = io.StringIO()

    call_command("verify_evidence", str(pack), "--public-key", str(key), stdout=out)

    assert "Pack verified" in out.getvalue()
    head = json.loads(zipfile.ZipFile(pack).read("manifest.json"))["audit_chain_head"]
    assert f"records the audit chain at event {head['sequence']} ({head['hash']})" in out.getvalue()
    assert f"verify_audit --checkpoint {pack}" in out.getvalue()


def test_the_verify_command_exits_1_naming_the_first_failing_file(shared, tmp_path):
    pack, key = tmp_path / "pack.zip", tmp_path / "key.pem"
    pack.write_bytes(rewrite_member(shared.data, "findings.csv", flip_one_byte))
    key.write_bytes(shared.public_key_pem)

    with pytest.raises(CommandError, match=r"findings\.csv") as failure:
        call_command("verify_evidence", str(pack), "--public-key", str(key), stderr=io.StringIO())

    assert failure.value.returncode == 1
