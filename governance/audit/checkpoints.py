"""Checkpoints of the audit chain kept outside the database, as `manage.py verify_audit --checkpoint` takes them.

Either written down by hand as `SEQUENCE:HASH` (the head the auditor's page or `verify_audit` showed), or
an evidence pack: its ZIP or its `manifest.json`, which records where the chain stood when the pack was
built (`audit_chain_head`) and, for a pack taken as of a past date, at that date (`audit_chain_as_of`).
The manifest's format belongs to governance.evidence, which builds on this app; only those two keys are
read here. Whether a manifest is authentic is `verify_evidence`'s question (its signature): a checkpoint
can only make verification fail, never pass.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

from governance.audit.chain import Checkpoint

MANIFEST = "manifest.json"
MANIFEST_POSITIONS = ("audit_chain_head", "audit_chain_as_of")
WRITTEN = re.compile(r"^([0-9]+):([0-9a-fA-F]{64})$")


class CheckpointUnreadable(ValueError):
    """The argument is neither `SEQUENCE:HASH` nor a readable evidence pack or manifest naming a position."""


def _manifest_of(path: Path) -> dict:
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                data = archive.read(MANIFEST)
        else:
            data = path.read_bytes()
        manifest = json.loads(data)
    except KeyError:
        raise CheckpointUnreadable(f"{path}: an archive without {MANIFEST}") from None
    except (OSError, zipfile.BadZipFile) as error:
        raise CheckpointUnreadable(f"{path}: cannot be read ({error})") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointUnreadable(f"{path}: neither an evidence pack nor a JSON manifest") from None
    if not isinstance(manifest, dict):
        raise CheckpointUnreadable(f"{path}: the manifest is not a JSON object")
    return manifest


def checkpoints_from(argument: str) -> list[Checkpoint]:
    """The checkpoints `argument` names: one for `SEQUENCE:HASH`, one or two for an evidence pack."""
    if written := WRITTEN.match(argument.strip()):
        sequence, hash_ = int(written[1]), written[2].lower()
        try:
            return [Checkpoint(sequence, hash_, source=f"checkpoint {sequence}:{hash_[:16]}…")]
        except ValueError as error:
            raise CheckpointUnreadable(f"{argument}: {error}") from None
    path = Path(argument)
    manifest = _manifest_of(path)
    found = []
    for key in MANIFEST_POSITIONS:
        position = manifest.get(key)
        if position is None:
            continue
        try:
            found.append(Checkpoint(position["sequence"], position["hash"], source=f"{path.name} ({key})"))
        except (TypeError, KeyError, ValueError) as error:
            raise CheckpointUnreadable(f"{path}: {key} is not a chain position ({error})") from None
    if not found:
        raise CheckpointUnreadable(f"{path}: the manifest records no audit chain position ({MANIFEST_POSITIONS[0]})")
    return found
