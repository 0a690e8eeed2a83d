"""The deployment's signing key: made on first use, private to the app, and always the same key after."""

import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from django.core.exceptions import ImproperlyConfigured

from governance.evidence import signing


@pytest.fixture
def key_file(settings, tmp_path):
    path = tmp_path / "keys" / "evidence-signing-key.pem"
    settings.EVIDENCE_SIGNING_KEY_FILE = str(path)
    return path


def test_the_key_is_created_on_first_use_readable_by_the_app_only(key_file):
    signing.public_key_pem()

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS8


def test_the_same_key_signs_every_time(key_file):
    first = signing.public_key_pem()

    assert signing.public_key_pem() == first
    assert signing.signature_valid(signing.load_public_key(first), signing.sign(b"manifest"), b"manifest")


def test_a_signature_does_not_verify_other_bytes(key_file):
    public_key = signing.load_public_key(signing.public_key_pem())

    assert not signing.signature_valid(public_key, signing.sign(b"manifest"), b"manifest!")


def test_a_configured_key_that_is_not_ed25519_is_refused(key_file):
    key_file.parent.mkdir(parents=True)
    key_file.write_bytes(
        generate_private_key(SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )

    with pytest.raises(ImproperlyConfigured, match="Ed25519"):
        signing.sign(b"manifest")


def test_a_public_key_that_is_not_ed25519_is_refused():
    pem = (
        generate_private_key(SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )

    with pytest.raises(ValueError, match="not Ed25519"):
        signing.load_public_key(pem)
