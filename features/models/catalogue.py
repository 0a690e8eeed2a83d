"""The signal catalogue and the service-identity (non-human identity) inventory."""

from django.db import models

from features.choices import IdentityKind, IdentityStatus, Sensitivity, SignalCategory


class Signal(models.Model):
    """A data input a feature may use, with its default sensitivity."""

    key = models.SlugField(max_length=80, unique=True, help_text="Stable identifier, e.g. purchase_history.")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=30, choices=SignalCategory.choices)
    sensitivity = models.CharField(max_length=10, choices=Sensitivity.choices)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class ServiceIdentity(models.Model):
    """A service account, OAuth client, key… that fetches signals. Its secret is only ever referenced."""

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=30, choices=IdentityKind.choices)
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="service_identities"
    )
    granted_scopes = models.JSONField(default=list, blank=True, help_text="Scopes the identity holds today.")
    credential_max_lifetime_days = models.PositiveIntegerField(
        help_text="Longest a credential of this identity lives before rotation."
    )
    last_rotated = models.DateField(null=True, blank=True)
    secret_location = models.CharField(
        max_length=300, blank=True, help_text="A reference such as vault://kv/reco/reader, never the secret."
    )
    status = models.CharField(max_length=10, choices=IdentityStatus.choices, default=IdentityStatus.ACTIVE)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "service identities"

    def __str__(self) -> str:
        return self.name
