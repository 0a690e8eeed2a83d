"""Features and their versioned registrations (declarations), with the declared children."""

from django.conf import settings
from django.db import models

from features.choices import (
    AccessMode,
    ConsentBasis,
    DestinationKind,
    FeatureStatus,
    HighTrustDomain,
    RegistrationStatus,
    SignalOrigin,
    Tier,
)


class Feature(models.Model):
    """A personalisation feature; its declarations live in its registrations (versions)."""

    key = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=160)
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="features")
    status = models.CharField(max_length=20, choices=FeatureStatus.choices, default=FeatureStatus.DRAFT)
    approved_registration = models.ForeignKey(
        "features.Registration", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["team", "status"]),
            # The feature list's order (name, then id for a stable page), for everyone and within a team:
            # a page out of 10,000 is read in order from the index instead of sorting them all.
            models.Index(fields=["name", "id"], name="feature_list_order"),
            models.Index(fields=["team", "name", "id"], name="feature_team_list_order"),
        ]

    def __str__(self) -> str:
        return self.key


class Registration(models.Model):
    """One version of a feature's declaration; immutable once submitted (a change is a new version)."""

    feature = models.ForeignKey(Feature, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=RegistrationStatus.choices, default=RegistrationStatus.DRAFT)
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    explanation = models.TextField(blank=True, help_text="One sentence a user would understand.")
    purpose = models.TextField(blank=True, help_text="The documented use case.")
    requested_tier = models.PositiveSmallIntegerField(choices=Tier.choices, default=Tier.BASIC)
    consent_basis = models.CharField(max_length=30, choices=ConsentBasis.choices, blank=True)
    consent_mechanism = models.CharField(max_length=300, blank=True)
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    opt_out = models.TextField(blank=True, help_text="How a user opts out and how the feature is switched off.")
    high_trust_domain = models.CharField(max_length=30, choices=HighTrustDomain.choices, blank=True)
    necessity_justification = models.TextField(blank=True)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    # The outcome of review (the declaration above never changes once submitted).
    approved_tier = models.PositiveSmallIntegerField(choices=Tier.choices, null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    review_due_on = models.DateField(null=True, blank=True, help_text="When the approval expires.")

    class Meta:
        ordering = ["feature", "-version"]
        constraints = [models.UniqueConstraint(fields=["feature", "version"], name="one_number_per_version")]
        indexes = [
            # The review queue: versions in review, oldest first (and their count), without reading the rest.
            models.Index(
                fields=["submitted_at", "id"],
                condition=models.Q(status=RegistrationStatus.SUBMITTED),
                name="registration_review_queue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.feature.key} v{self.version}"

    @property
    def is_draft(self) -> bool:
        return self.status == RegistrationStatus.DRAFT


class DeclaredSignal(models.Model):
    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="declared_signals")
    signal = models.ForeignKey("features.Signal", on_delete=models.PROTECT, related_name="+")
    origin = models.CharField(max_length=10, choices=SignalOrigin.choices, default=SignalOrigin.COLLECTED)
    justification = models.TextField(blank=True, help_text="Why the feature needs this signal.")
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["registration", "signal"], name="signal_declared_once"),
        ]

    def __str__(self) -> str:
        return f"{self.registration}: signal {self.signal.key}"


class DeclaredIdentity(models.Model):
    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="declared_identities")
    identity = models.ForeignKey("features.ServiceIdentity", on_delete=models.PROTECT, related_name="+")
    scopes = models.JSONField(default=list, blank=True, help_text="Scopes this feature needs.")
    access = models.CharField(max_length=10, choices=AccessMode.choices, default=AccessMode.READ)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = "declared identities"
        constraints = [
            models.UniqueConstraint(fields=["registration", "identity"], name="identity_declared_once"),
        ]

    def __str__(self) -> str:
        return f"{self.registration}: identity {self.identity.name}"


class DeclaredDestination(models.Model):
    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="declared_destinations")
    name = models.CharField(max_length=120, help_text="The downstream system, e.g. reco-ranker.")
    kind = models.CharField(max_length=20, choices=DestinationKind.choices)
    signals = models.ManyToManyField("features.Signal", related_name="+", blank=True)
    controls_before = models.BooleanField(
        default=False, help_text="Consent and retention rules are applied before the data reaches it."
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["registration", "name"], name="destination_declared_once"),
        ]

    def __str__(self) -> str:
        return f"{self.registration}: destination {self.name}"
