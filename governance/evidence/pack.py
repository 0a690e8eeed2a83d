"""Building an evidence pack: a signed ZIP that stands on its own (DESIGN.md, "Evidence for auditors").

A pack holds, for a scope (one feature, one team, the whole registry) and optionally as of a past moment:

    registry.json                   every feature record (versions, declarations, decisions, findings, drift,
                                    observed paths), plus the scope, times and audit chain head; its JSON
                                    Schema is governance/evidence/schema/registry.schema.json
    features.csv … observed_edges.csv   the same, one table per entity (see `tables`)
    report.html, report.pdf         the readable report: a summary page with charts, a section per feature
    oscal-assessment-results.json   the findings as OSCAL assessment results
    SHA256SUMS                      `sha256sum -c SHA256SUMS` checks every file above
    manifest.json                   every file above and SHA256SUMS with its SHA-256 and size, the scope,
                                    the as-of moment, the generation time, the audit chain head and the
                                    fingerprint of the signing key
    manifest.json.sig               Ed25519 signature of the exact bytes of manifest.json: 64 raw bytes

How it stays small in memory: the database is read once, a chunk of features at a time, straight into
registry.json's ZIP entry and into a spool file of one JSON record per line; every other file is rendered
from the spool, one record at a time, each into its own ZIP entry (zipfile writes one entry at a time).
The tables, reports and OSCAL document therefore say exactly what registry.json says.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.utils import timezone

from features.models import Feature
from governance.accounts.models import Team
from governance.audit.chain import head
from governance.audit.models import AuditEvent
from governance.evidence import signing
from governance.evidence.oscal import write_oscal
from governance.evidence.records import (
    Summary,
    feature_records,
    features_in_scope,
    iso,
    unregistered_keys,
    unregistered_records,
)
from governance.evidence.report_html import write_report_html
from governance.evidence.report_pdf import write_report_pdf
from governance.evidence.tables import TABLES, write_table

FORMAT = "personalisation-governance/evidence-pack"
FORMAT_VERSION = 1
REGISTRY = "registry.json"
REPORT_HTML = "report.html"
REPORT_PDF = "report.pdf"
OSCAL = "oscal-assessment-results.json"
SHA256SUMS = "SHA256SUMS"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
SCOPE_KINDS = ("feature", "team", "registry")


class PackScopeInvalid(ValueError):
    """The scope names nothing that exists, or is not a feature, a team or the registry."""


@dataclass(frozen=True)
class PackScope:
    """What a pack covers: one feature (by key), one team (by slug) or the whole registry."""

    kind: str  # "feature" | "team" | "registry"
    key: str | None = None  # feature key or team slug; None for the registry

    def label(self) -> str:
        return "the whole registry" if self.kind == "registry" else f"{self.kind} {self.key}"

    def as_dict(self) -> dict:
        return {"kind": self.kind, "key": self.key if self.kind != "registry" else None, "label": self.label()}

    @classmethod
    def parse(cls, text: str) -> PackScope:
        """`registry`, `team:<slug>` or `feature:<key>` (the command line's spelling)."""
        kind, _, key = text.partition(":")
        return cls(kind=kind.strip(), key=key.strip() or None)


@dataclass(frozen=True)
class PackSummary:
    files: dict[str, str]  # name -> sha256 hex, every file in the ZIP
    manifest: dict
    feature_count: int


def check_scope(scope: PackScope) -> None:
    """Raise `PackScopeInvalid` unless the scope is well formed and names something that exists."""
    if scope.kind not in SCOPE_KINDS:
        raise PackScopeInvalid(f"A pack covers a feature, a team or the registry, not {scope.kind!r}.")
    if scope.kind == "registry":
        return
    if not scope.key:
        raise PackScopeInvalid(f"Name the {scope.kind} to export.")
    if scope.kind == "team" and not Team.objects.filter(slug=scope.key).exists():
        raise PackScopeInvalid(f"No team called {scope.key}.")
    if scope.kind == "feature" and not Feature.objects.filter(key=scope.key).exists():
        raise PackScopeInvalid(f"No feature with the key {scope.key}.")


class _Entry:
    """One file being written into the ZIP, hashed and counted on the way."""

    def __init__(self, archive: zipfile.ZipFile, name: str, when: datetime.datetime):
        info = zipfile.ZipInfo(name, date_time=when.astimezone(datetime.UTC).timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        self.name = name
        self._handle = archive.open(info, mode="w", force_zip64=True)
        self._digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._digest.update(data)
        self.size += len(data)
        return self._handle.write(data)

    def write_text(self, text: str) -> None:
        self.write(text.encode("utf-8"))

    def close(self) -> tuple[str, int]:
        self._handle.close()
        return self._digest.hexdigest(), self.size


def _records(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as spool:
        for line in spool:
            yield json.loads(line)


def _chain_as_of(as_of: datetime.datetime | None) -> dict | None:
    if as_of is None:
        return None
    last = (
        AuditEvent.objects.filter(occurred_at__lte=as_of).order_by("-sequence").values_list("sequence", "hash").first()
    )
    return {"sequence": last[0], "hash": last[1]} if last else {"sequence": 0, "hash": "0" * 64}


def build_pack(
    *,
    scope: PackScope,
    as_of: datetime.datetime | None,
    destination: BinaryIO,
    progress: Callable[[int, int], None] | None = None,
    now: datetime.datetime | None = None,
) -> PackSummary:
    """Write the evidence pack of `scope` as the registry stood at `as_of` (None: now) into `destination`.

    `progress(done, total)` is called as the work advances: each feature counts once when read and once
    when typeset, so `total` is twice the number of features (at least 1) and `done` reaches it at the end.
    """
    now = now or timezone.now()
    if timezone.is_naive(now) or (as_of is not None and timezone.is_naive(as_of)):
        raise ValueError("Give aware datetimes: a pack's times are exact instants.")
    if as_of is not None and as_of > now:
        raise ValueError("An evidence pack shows the past: as_of must not be later than now.")
    check_scope(scope)

    sequence, chain_hash = head()
    key_fingerprint = signing.fingerprint(signing.load_public_key(signing.public_key_pem()))
    meta = {
        "scope": scope.as_dict(),
        "as_of": iso(as_of),
        "generated_at": iso(now),
        "audit_chain_head": {"sequence": sequence, "hash": chain_hash},
        "audit_chain_as_of": _chain_as_of(as_of),
        "signing_key_fingerprint": key_fingerprint,
    }
    expected = features_in_scope(scope, as_of).count()
    done = 0

    def advance(step: int = 1) -> None:
        nonlocal done
        done += step
        if progress is not None:
            progress(done, max(1, 2 * expected, done))

    files: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="evidence-pack-") as work, zipfile.ZipFile(destination, "w") as archive:

        def add(name: str, writer: Callable[[_Entry], None]) -> None:
            entry = _Entry(archive, name, now)
            writer(entry)
            digest, size = entry.close()
            files.append({"name": name, "sha256": digest, "size": size})

        features_spool, unregistered_spool = Path(work, "features.jsonl"), Path(work, "unregistered.jsonl")
        summary = Summary()

        def registry_json(entry: _Entry) -> None:
            opening = {"format": FORMAT, "format_version": FORMAT_VERSION, **meta}
            entry.write_text(json.dumps(opening, ensure_ascii=False)[:-1] + ',\n"features": [\n')
            with features_spool.open("w", encoding="utf-8") as spool:
                for record in feature_records(scope, as_of):
                    line = json.dumps(record, ensure_ascii=False)
                    entry.write_text(("" if summary.features == 0 else ",\n") + line)
                    spool.write(line + "\n")
                    summary.add_feature(record)
                    advance()
            entry.write_text('\n],\n"unregistered": [\n')
            with unregistered_spool.open("w", encoding="utf-8") as spool:
                for record in unregistered_records(unregistered_keys(scope, as_of), as_of):
                    line = json.dumps(record, ensure_ascii=False)
                    entry.write_text(("" if summary.unregistered_keys == 0 else ",\n") + line)
                    spool.write(line + "\n")
                    summary.add_unregistered(record)
            entry.write_text('\n],\n"summary": ' + json.dumps(summary.as_dict()) + "}\n")

        add(REGISTRY, registry_json)
        counts = summary.as_dict()

        def features() -> Iterator[dict]:
            return _records(features_spool)

        def unregistered() -> Iterator[dict]:
            return _records(unregistered_spool)

        for table in TABLES:
            add(table.name, lambda entry, table=table: write_table(table, entry.write, features(), unregistered()))
        add(
            REPORT_HTML,
            lambda entry: write_report_html(
                entry.write_text, meta=meta, summary=counts, features=features(), unregistered=unregistered()
            ),
        )
        add(
            REPORT_PDF,
            lambda entry: write_report_pdf(
                entry,
                meta=meta,
                summary=counts,
                features=features(),
                unregistered=unregistered(),
                on_feature=advance,
            ),
        )
        add(
            OSCAL,
            lambda entry: write_oscal(
                entry.write_text, meta=meta, summary=counts, features=features, unregistered=unregistered
            ),
        )
        sums = "".join(f"{item['sha256']}  {item['name']}\n" for item in files)
        add(SHA256SUMS, lambda entry: entry.write_text(sums))

        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "scope": meta["scope"],
            "as_of": meta["as_of"],
            "generated_at": meta["generated_at"],
            "audit_chain_head": meta["audit_chain_head"],
            "audit_chain_as_of": meta["audit_chain_as_of"],
            "feature_count": summary.features,
            "signing_key": {"algorithm": signing.ALGORITHM, "fingerprint_sha256": key_fingerprint},
            "signature": {"file": SIGNATURE, "encoding": "raw", "signs": f"the exact bytes of {MANIFEST}"},
            "files": list(files),
        }
        manifest_bytes = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        signature = signing.sign(manifest_bytes)
        add(MANIFEST, lambda entry: entry.write(manifest_bytes))
        add(SIGNATURE, lambda entry: entry.write(signature))

    if progress is not None:
        total = max(1, 2 * expected, done)
        progress(total, total)
    return PackSummary(
        files={item["name"]: item["sha256"] for item in files}, manifest=manifest, feature_count=summary.features
    )
