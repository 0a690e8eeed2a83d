"""Teams and the people in them, with the one role each person plays."""

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Feature owner"
    REVIEWER = "reviewer", "Security reviewer"
    AUDITOR = "auditor", "Auditor"
    ADMINISTRATOR = "administrator", "Administrator"


class Team(models.Model):
    """Owns features and service identities; owners see the drafts of their teams only."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=120, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.OWNER)
    teams = models.ManyToManyField(Team, related_name="members", blank=True)

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER

    @property
    def is_reviewer(self) -> bool:
        return self.role == Role.REVIEWER

    @property
    def is_auditor(self) -> bool:
        return self.role == Role.AUDITOR

    @property
    def is_administrator(self) -> bool:
        return self.role == Role.ADMINISTRATOR or self.is_superuser

    @property
    def sees_every_team(self) -> bool:
        """Reviewers, auditors and administrators read across teams; owners only their own."""
        return self.role in (Role.REVIEWER, Role.AUDITOR, Role.ADMINISTRATOR) or self.is_superuser


class TokenScope(models.TextChoices):
    OBSERVATIONS_WRITE = "observations:write", "Send observations (telemetry)"
    REGISTRATIONS_WRITE = "registrations:write", "File and submit registrations"
    REVIEWS_WRITE = "reviews:write", "Take review decisions"
    EVIDENCE_READ = "evidence:read", "Export evidence"
    CATALOGUE_WRITE = "catalogue:write", "Edit the signal catalogue and identity inventory (administrators)"


class ApiToken(models.Model):
    """A machine's credential: scoped, optionally limited to teams, expiring, stored only as a hash.

    The plaintext (`pgv_<prefix>_<secret>`) is shown once when issued; `prefix` identifies the token
    in lists and logs without revealing it.
    """

    name = models.CharField(max_length=120)
    prefix = models.CharField(max_length=12, unique=True)
    secret_hash = models.CharField(max_length=64, help_text="SHA-256 of the secret part, hex.")
    scopes = models.JSONField(default=list)
    teams = models.ManyToManyField(Team, blank=True, related_name="api_tokens", help_text="Empty: any team.")
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_tokens")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def label(self) -> str:
        """How the token appears as an actor in the audit trail."""
        return f"token:{self.prefix}"


class LoginLockout(models.Model):
    """Failed logins for one username from one address, and the lock they earned (accounts/lockout.py).

    A row per (username, address), so failures from one address never lock the person out elsewhere.
    What was typed as the username is never stored (people type passwords there): only a keyed hash of
    it, and the account it names when there is one.
    """

    username_digest = models.CharField(max_length=64, help_text="HMAC-SHA256 of the casefolded username.")
    address = models.CharField(max_length=64, help_text="The client's address (accounts/addresses.py).")
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    attempts = models.PositiveIntegerField(
        default=0, help_text="Attempts in this window that did not succeed (or are still being checked)."
    )
    window_started_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["username_digest", "address"], name="login_lockout_one_row_per_pair")
        ]
        indexes = [models.Index(fields=["last_attempt_at"], name="login_lockout_last_attempt")]

    def __str__(self) -> str:
        who = self.user.get_username() if self.user_id else "unknown username"
        return f"{who} from {self.address}"
