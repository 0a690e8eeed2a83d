"""Verifying an evidence pack offline: the manifest's signature first, then every file against it.

What it checks, in this order (problems are listed in the same order, so the first names the first
failing file):
1. the pack is a ZIP with one manifest.json and one manifest.json.sig, and no name twice;
2. manifest.json.sig is a valid Ed25519 signature of manifest.json's exact bytes under the given public
   key, and the manifest names that key's fingerprint;
3. every file the manifest lists is in the pack with that SHA-256 and size (read streaming);
4. nothing is in the pack that the manifest does not list, and SHA256SUMS agrees with the manifest.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from governance.evidence import signing
from governance.evidence.pack import MANIFEST, SHA256SUMS, SIGNATURE

READ_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class PackVerification:
    ok: bool
    problems: list[str]
    files_checked: int
    manifest: dict | None


def _digest(archive: zipfile.ZipFile, name: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with archive.open(name) as stream:
        while chunk := stream.read(READ_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _check_signature(public_key, manifest_bytes: bytes, signature: bytes) -> list[str]:
    if signing.signature_valid(public_key, signature, manifest_bytes):
        return []
    return [
        f"{SIGNATURE}: the signature does not verify {MANIFEST} with this public key "
        f"({MANIFEST} or {SIGNATURE} was changed, or the pack was signed with another key)"
    ]


def _parse_manifest(manifest_bytes: bytes) -> tuple[dict | None, list[str]]:
    try:
        manifest = json.loads(manifest_bytes)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, [f"{MANIFEST}: not valid JSON ({error})"]
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        return None, [f"{MANIFEST}: has no list of files"]
    return manifest, []


def _check_files(archive: zipfile.ZipFile, manifest: dict) -> tuple[list[str], int]:
    problems, checked, present = [], 0, set(archive.namelist())
    for item in manifest["files"]:
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            problems.append(f"{MANIFEST}: a file entry without a name")
            continue
        if name not in present:
            problems.append(f"{name}: listed in the manifest but missing from the pack")
            continue
        try:
            digest, size = _digest(archive, name)
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            problems.append(f"{name}: damaged inside the ZIP ({error})")
            continue
        checked += 1
        if digest != item.get("sha256"):
            problems.append(f"{name}: SHA-256 {digest} does not match the manifest's {item.get('sha256')}")
        elif size != item.get("size"):
            problems.append(f"{name}: {size} bytes, the manifest says {item.get('size')}")
    listed = {item.get("name") for item in manifest["files"] if isinstance(item, dict)}
    problems += [
        f"{name}: in the pack but not in the manifest"
        for name in archive.namelist()
        if name not in listed and name not in (MANIFEST, SIGNATURE)
    ]
    return problems, checked


def _check_sums(archive: zipfile.ZipFile, manifest: dict) -> list[str]:
    if SHA256SUMS not in archive.namelist():
        return []
    try:
        lines = archive.read(SHA256SUMS).decode("utf-8").splitlines()
    except (zipfile.BadZipFile, UnicodeDecodeError, OSError):
        return []  # already reported as damaged or mismatched
    sums = {}
    for line in lines:
        digest, _, name = line.partition("  ")
        sums[name] = digest
    listed = {item["name"]: item.get("sha256") for item in manifest["files"] if isinstance(item, dict)}
    return [
        f"{SHA256SUMS}: {name} has SHA-256 {digest}, the manifest says {listed.get(name)}"
        for name, digest in sums.items()
        if listed.get(name) != digest
    ]


def verify_pack(path_or_file: str | Path | BinaryIO, *, public_key_pem: bytes) -> PackVerification:
    """Check a pack against the public key of the deployment that signed it."""
    try:
        public_key = signing.load_public_key(public_key_pem)
    except ValueError as error:
        return PackVerification(False, [f"public key: {error}"], 0, None)
    try:
        archive = zipfile.ZipFile(path_or_file)
    except (zipfile.BadZipFile, OSError) as error:
        return PackVerification(False, [f"not a readable ZIP archive: {error}"], 0, None)
    with archive:
        names = archive.namelist()
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            return PackVerification(
                False, [f"{name}: appears more than once in the pack" for name in repeated], 0, None
            )
        missing = [name for name in (MANIFEST, SIGNATURE) if name not in names]
        if missing:
            return PackVerification(False, [f"{name}: missing from the pack" for name in missing], 0, None)
        try:
            manifest_bytes, signature = archive.read(MANIFEST), archive.read(SIGNATURE)
        except (zipfile.BadZipFile, OSError) as error:
            return PackVerification(False, [f"{MANIFEST} or {SIGNATURE}: damaged inside the ZIP ({error})"], 0, None)
        problems = _check_signature(public_key, manifest_bytes, signature)
        manifest, unreadable = _parse_manifest(manifest_bytes)
        problems += unreadable
        if manifest is None:
            return PackVerification(False, problems, 0, None)
        named = (manifest.get("signing_key") or {}).get("fingerprint_sha256")
        actual = signing.fingerprint(public_key)
        if named != actual:
            problems.append(f"{MANIFEST}: names signing key {named}, but the public key given is {actual}")
        file_problems, checked = _check_files(archive, manifest)
        problems += file_problems
        if not file_problems:
            problems += _check_sums(archive, manifest)
    return PackVerification(not problems, problems, checked, manifest)
