"""Review decisions on a submitted version: who decided what, when, at which tier, until when."""

from django.conf import settings
from django.db import models

from features.choices import Tier


class Outcome(models.TextChoices):
    APPROVE = "approve", "Approve"
    REQUEST_CHANGES = "request_changes", "Request changes"
    REJECT = "reject", "Reject"


class Decision(models.Model):
    registration = models.ForeignKey("features.Registration", on_delete=models.PROTECT, related_name="decisions")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    tier = models.PositiveSmallIntegerField(choices=Tier.choices, null=True, blank=True)
    conditions = models.TextField(blank=True)
    expires_on = models.DateField(null=True, blank=True, help_text="Re-review date of an approval.")
    comment = models.TextField(blank=True)
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["decided_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["registration", "reviewer"],
                condition=models.Q(outcome="approve"),
                name="one_approval_per_reviewer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} {self.registration} by {self.reviewer}"
