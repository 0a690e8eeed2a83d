"""The deployment's Ed25519 key that signs evidence manifests, and checking a signature with a public key.

The private key lives in `settings.EVIDENCE_SIGNING_KEY_FILE` (PKCS8 PEM, unencrypted, readable by the app
only). When the file does not exist it is generated on first use with 0600 permissions; two processes
racing to create it end up with the same key (the file appears atomically, and the loser reads the winner's).
An auditor needs only the public key (`manage.py evidence_public_key`) to verify a pack offline.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

ALGORITHM = "Ed25519"


def key_path() -> Path:
    return Path(settings.EVIDENCE_SIGNING_KEY_FILE)


def _create_key_file(path: Path) -> None:
    """Write a new key next to `path` with 0600 permissions, then link it into place (fails if one exists)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".evidence-key-", suffix=".tmp")
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(pem)
            stream.flush()
            os.fsync(stream.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
            os.link(temporary, path)  # atomic, and never replaces an existing key
    finally:
        Path(temporary).unlink(missing_ok=True)


def private_key() -> Ed25519PrivateKey:
    """The signing key, created on first use."""
    path = key_path()
    if not path.exists():
        _create_key_file(path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as error:
        raise ImproperlyConfigured(f"{path} is not an unencrypted PKCS8 PEM private key: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"{path} holds a {type(key).__name__}; evidence is signed with Ed25519.")
    return key


def public_key_pem() -> bytes:
    """The public half of the signing key, as SubjectPublicKeyInfo PEM (what `openssl pkeyutl` reads)."""
    return (
        private_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def sign(data: bytes) -> bytes:
    """A detached Ed25519 signature of `data`: 64 raw bytes."""
    return private_key().sign(data)


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """Read an Ed25519 public key from PEM; ValueError when it is anything else."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as error:
        raise ValueError(f"not a PEM public key: {error}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"the key is {type(key).__name__}, not Ed25519")
    return key


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """SHA-256 of the public key's 32 raw bytes, hex: how a manifest names the key that signed it."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def signature_valid(public_key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        return False
    return True
