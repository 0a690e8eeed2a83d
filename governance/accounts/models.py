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
