"""Findings: what a policy rule, drift detection or the review calendar says is wrong with a feature."""

from django.conf import settings
from django.db import models

from features.models.registry import Feature
from governance.policy.severity import Severity


class FindingSource(models.TextChoices):
    POLICY = "policy", "Policy rule"
    DRIFT = "drift", "Drift"
    REVIEW = "review", "Review calendar"


class FindingStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    RESOLVED = "resolved", "Resolved"


class Finding(models.Model):
    """One problem about a feature (and, for policy findings, about one of its versions)."""

    feature = models.ForeignKey(
        "features.Feature", null=True, blank=True, on_delete=models.CASCADE, related_name="findings"
    )
    # The feature key as observed: drift can find a "shadow" feature that is not registered at all.
    feature_key = models.CharField(max_length=80, blank=True, db_index=True)
    registration = models.ForeignKey(
        "features.Registration", null=True, blank=True, on_delete=models.CASCADE, related_name="findings"
    )
    source = models.CharField(max_length=10, choices=FindingSource.choices)
    rule_id = models.CharField(max_length=60)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    message = models.TextField()
    path = models.CharField(max_length=120, blank=True, help_text="The declaration field it is about.")
    references = models.JSONField(default=list, blank=True)
    fingerprint = models.CharField(max_length=200, help_text="Stable identity of the finding for updates.")
    status = models.CharField(max_length=10, choices=FindingStatus.choices, default=FindingStatus.OPEN)
    accepted_until = models.DateField(null=True, blank=True)
    accepted_reason = models.TextField(blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["status", "severity", "rule_id"]
        indexes = [
            models.Index(fields=["feature", "status"]),
            models.Index(fields=["registration", "status"]),
            models.Index(fields=["source", "status", "severity"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["feature", "registration", "fingerprint"], name="finding_once_per_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} on {self.feature_key}"

    def save(self, *args, **kwargs):
        if self.feature_id and not self.feature_key:
            self.feature_key = Feature.objects.values_list("key", flat=True).get(pk=self.feature_id)
        super().save(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.status == FindingStatus.OPEN

    @property
    def blocks_approval(self) -> bool:
        return self.status == FindingStatus.OPEN and self.severity == Severity.CRITICAL
