"""Evidence exports: asking for a pack, building it in the background, handing it out.

Each step is an audit event: `evidence.requested` when someone asks, `evidence.exported` when the ZIP is
built (with its SHA-256 and the audit head its manifest seals), `evidence.failed` when it could not be,
`evidence.downloaded` whenever someone takes a copy. Only the roles that read across teams (reviewers,
auditors, administrators) export: a pack spans teams, and an owner reads only their own.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from features.services import NotAllowed
from governance.audit.chain import record
from governance.evidence.asof import end_of_day
from governance.evidence.models import EvidencePack, PackStatus, ScopeKind
from governance.evidence.pack import PackScope, PackScopeInvalid, build_pack, check_scope

logger = logging.getLogger(__name__)

# Progress is written at most this often: enough for a bar polled every second, few enough writes that a
# thousand-feature build does not spend its time updating one row.
PROGRESS_MIN_STEP = 0.02  # of the total
PROGRESS_MIN_SECONDS = 0.5
HASH_CHUNK = 1024 * 1024


class EvidenceRequestInvalid(Exception):
    """The request names something that does not exist or a date that has not happened; by field."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items()))


class PackUnavailable(Exception):
    """The pack cannot be handed out (not built, or its file is gone or no longer matches its hash)."""


def can_export_evidence(user) -> bool:
    """A pack spans teams: reviewers, auditors and administrators export it, owners do not."""
    return bool(user.is_authenticated and user.sees_every_team)


def _scope_errors(scope: PackScope) -> dict[str, list[str]]:
    """The builder's own check of the scope, its refusal put next to the field that names the scope."""
    try:
        check_scope(scope)
    except PackScopeInvalid as invalid:
        field = scope.kind if scope.kind in (ScopeKind.TEAM, ScopeKind.FEATURE) else "scope"
        return {field: [str(invalid)]}
    return {}


@transaction.atomic
def evidence_request(*, actor, scope: PackScope, as_of: datetime.date | None) -> EvidencePack:
    """Queue an evidence pack of `scope`, as the registry stood at the end of `as_of` (None: now)."""
    if not can_export_evidence(actor):
        raise NotAllowed("Evidence packs are exported by auditors, reviewers and administrators.")
    errors = _scope_errors(scope)
    if as_of is not None and as_of > timezone.localdate():
        errors["as_of"] = ["An evidence pack shows the past: choose today or an earlier day."]
    if errors:
        raise EvidenceRequestInvalid(errors)
    pack = EvidencePack.objects.create(
        requested_by=actor,
        scope_kind=scope.kind,
        scope_key="" if scope.kind == ScopeKind.REGISTRY else scope.key,
        as_of=as_of,
    )
    record(
        actor=actor,
        action="evidence.requested",
        obj=pack,
        payload={"scope": pack.scope_kind, "key": pack.scope_key, "as_of": as_of},
    )
    from governance.evidence.tasks import build_evidence_pack  # the task module imports this one

    transaction.on_commit(lambda: build_evidence_pack.delay(pack.pk))
    return pack


def _as_of_moment(day: datetime.date | None, now: datetime.datetime) -> datetime.datetime | None:
    """The end of `day` (UTC, as the builder reads dates), never later than now: today's pack is "so far"."""
    return None if day is None else min(end_of_day(day), now)


class _ProgressRecorder:
    """Writes (done, total) to the pack's row, at most every PROGRESS_MIN_STEP and PROGRESS_MIN_SECONDS."""

    def __init__(self, pack_id: int, clock: Callable[[], float] = time.monotonic):
        self.pack_id, self.clock = pack_id, clock
        self.saved_done, self.saved_at, self.writes = -1, float("-inf"), 0

    def __call__(self, done: int, total: int) -> None:
        step = max(1, int(total * PROGRESS_MIN_STEP))
        finished = total and done >= total
        now = self.clock()
        if not finished and (done - self.saved_done < step or now - self.saved_at < PROGRESS_MIN_SECONDS):
            return
        # Its own statement in autocommit: a poller sees it while the build goes on.
        EvidencePack.objects.filter(pk=self.pack_id).update(progress_done=done, progress_total=total)
        self.saved_done, self.saved_at, self.writes = done, now, self.writes + 1


def _claim(pack_id: int) -> EvidencePack | None:
    """Mark the pack as building; None when it is settled or gone (a redelivered task does nothing)."""
    with transaction.atomic():
        pack = EvidencePack.objects.select_for_update().filter(pk=pack_id).first()
        if pack is None or pack.status in (PackStatus.READY, PackStatus.FAILED):
            return None
        # Queued, or building when a worker died mid-way: either way, start again from nothing.
        pack.status = PackStatus.BUILDING
        pack.started_at = timezone.now()
        pack.progress_done = pack.progress_total = 0
        pack.error = ""
        pack.save(update_fields=["status", "started_at", "progress_done", "progress_total", "error"])
        return pack


def _temp_prefix(pack_id: int) -> str:
    return f".pack-{pack_id}-"


def _remove_stale_parts(directory: Path, pack_id: int) -> None:
    for stale in directory.glob(f"{_temp_prefix(pack_id)}*.part"):
        stale.unlink(missing_ok=True)


def _file_name(pack: EvidencePack, now: datetime.datetime) -> str:
    day = pack.as_of or timezone.localdate(now)
    parts = ["evidence", pack.scope_kind, slugify(pack.scope_key) if pack.scope_key else "", f"{day:%Y-%m-%d}"]
    return "-".join(part for part in parts if part) + f"-{pack.pk}.zip"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def evidence_build(*, pack_id: int) -> EvidencePack | None:
    """Build the pack's ZIP into a temporary file, move it into EVIDENCE_DIR, record it as exported.

    Safe to run twice: a settled pack is left alone; an interrupted one is rebuilt from scratch (its
    half-written temporary file is thrown away), and the ZIP only appears under its name when complete.
    """
    pack = _claim(pack_id)
    if pack is None:
        return None
    directory = Path(settings.EVIDENCE_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(directory, pack.pk)
    now = timezone.now()
    part = None
    try:
        with tempfile.NamedTemporaryFile(
            dir=directory, prefix=_temp_prefix(pack.pk), suffix=".part", delete=False
        ) as destination:
            part = Path(destination.name)
            summary = build_pack(
                scope=pack.scope,
                as_of=_as_of_moment(pack.as_of, now),
                destination=destination,
                progress=_ProgressRecorder(pack.pk),
                now=now,
            )
            destination.flush()
            os.fsync(destination.fileno())
        file_name = _file_name(pack, now)
        final = directory / file_name
        os.replace(part, final)
        part = None
        return _settle_ready(pack, final, summary)
    except Exception as failure:
        logger.exception("Evidence pack %s could not be built", pack.pk)
        if part is not None:
            part.unlink(missing_ok=True)
        return _settle_failed(pack, failure)


@transaction.atomic
def _settle_ready(pack: EvidencePack, final: Path, summary) -> EvidencePack:
    pack.file_name = final.name
    pack.size = final.stat().st_size
    pack.sha256 = file_sha256(final)
    pack.feature_count = summary.feature_count
    pack.status = PackStatus.READY
    pack.refresh_from_db(fields=["progress_total"])  # the recorder wrote it; this copy never saw it
    pack.progress_total = pack.progress_done = max(1, pack.progress_total)
    pack.finished_at = timezone.now()
    pack.save()
    record(
        actor=pack.requested_by,
        action="evidence.exported",
        obj=pack,
        payload={
            "scope": pack.scope_kind,
            "key": pack.scope_key,
            "as_of": pack.as_of,
            "file": pack.file_name,
            "size": pack.size,
            "sha256": pack.sha256,
            "features": summary.feature_count,
            "audit_head": summary.manifest["audit_chain_head"],
        },
    )
    return pack


@transaction.atomic
def _settle_failed(pack: EvidencePack, failure: Exception) -> EvidencePack:
    detail = str(failure) or type(failure).__name__
    pack.status = PackStatus.FAILED
    pack.error = f"The pack could not be built: {detail}"
    pack.finished_at = timezone.now()
    pack.save(update_fields=["status", "error", "finished_at"])
    record(actor=pack.requested_by, action="evidence.failed", obj=pack, payload={"error": pack.error})
    return pack


def evidence_download(*, actor, pack: EvidencePack) -> Path:
    """The path of a ready pack's ZIP, after checking it still hashes to what was exported; audited."""
    if not can_export_evidence(actor):
        raise NotAllowed("Evidence packs are downloaded by auditors, reviewers and administrators.")
    if not pack.is_ready:
        raise PackUnavailable(f"Pack {pack.pk} is {pack.get_status_display().lower()}, not ready to download.")
    path = pack.path
    if path is None or not path.is_file():
        raise PackUnavailable(f"The file of pack {pack.pk} is missing: export it again.")
    if file_sha256(path) != pack.sha256:
        raise PackUnavailable(f"The file of pack {pack.pk} no longer matches the hash recorded when it was built.")
    record(actor=actor, action="evidence.downloaded", obj=pack, payload={"file": pack.file_name, "sha256": pack.sha256})
    return path
