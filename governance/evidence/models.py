"""Evidence packs an auditor asked for: what was asked, how far the build got, and the ZIP it produced."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import models


class ScopeKind(models.TextChoices):
    REGISTRY = "registry", "Whole registry"
    TEAM = "team", "Team"
    FEATURE = "feature", "Feature"


class PackStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    BUILDING = "building", "Building"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class EvidencePack(models.Model):
    """One requested export. The ZIP lives in `settings.EVIDENCE_DIR`; the row says where and what it hashes to."""

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    scope_kind = models.CharField(max_length=10, choices=ScopeKind.choices)
    scope_key = models.CharField(max_length=80, blank=True, help_text="The feature key or team slug.")
    as_of = models.DateField(null=True, blank=True, help_text="The registry as it stood at the end of this day.")
    status = models.CharField(max_length=10, choices=PackStatus.choices, default=PackStatus.QUEUED)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    feature_count = models.PositiveIntegerField(null=True, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    size = models.BigIntegerField(null=True, blank=True, help_text="Bytes of the ZIP.")
    sha256 = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the ZIP, hex.")
    error = models.TextField(blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"Evidence pack {self.pk}: {self.scope_label}"

    @property
    def scope(self):
        from governance.evidence.pack import PackScope  # the builder imports the registry; load it late

        return PackScope(kind=self.scope_kind, key=self.scope_key or None)

    @property
    def scope_label(self) -> str:
        if self.scope_kind == ScopeKind.REGISTRY:
            return "Whole registry"
        return f"{self.get_scope_kind_display()} {self.scope_key}"

    @property
    def path(self) -> Path | None:
        return Path(settings.EVIDENCE_DIR) / self.file_name if self.file_name else None

    @property
    def is_pending(self) -> bool:
        return self.status in (PackStatus.QUEUED, PackStatus.BUILDING)

    @property
    def is_ready(self) -> bool:
        return self.status == PackStatus.READY

    @property
    def percent(self) -> int:
        return int(100 * self.progress_done / self.progress_total) if self.progress_total else 0
