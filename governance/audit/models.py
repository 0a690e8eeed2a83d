"""The audit trail: one append-only, hash-chained row per state change (written by `chain.record`)."""

from django.conf import settings
from django.db import models

GENESIS_HASH = "0" * 64


class AuditEvent(models.Model):
    """One state change; `hash` seals its contents and `prev_hash` links it to the event before it.

    Never create, change or delete rows directly: `governance.audit.chain.record` appends them under a
    lock so the chain cannot fork, and on PostgreSQL the table refuses UPDATE, DELETE and TRUNCATE.
    """

    sequence = models.BigIntegerField(unique=True, help_text="Position in the chain: 1, 2, 3… with no gaps.")
    occurred_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The name as it was at the time: kept even if the user is renamed, or when a machine token acted.
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=64, help_text='What happened, e.g. "registration.submitted".')
    object_type = models.CharField(max_length=100, blank=True, help_text='e.g. "features.feature".')
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(max_length=255, blank=True)
    payload = models.JSONField(default=dict, blank=True, help_text="What changed, as canonical JSON.")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["sequence"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_event_object_idx"),
            models.Index(fields=["occurred_at"], name="audit_event_occurred_idx"),
            models.Index(fields=["action"], name="audit_event_action_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(sequence__gte=1), name="audit_event_sequence_positive"),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.object_type}:{self.object_id}".rstrip(":")

    @property
    def payload_text(self) -> str:
        """The payload as the hash sees it: canonical JSON."""
        from governance.audit.chain import canonical_json  # chain imports this module

        return canonical_json(self.payload)
