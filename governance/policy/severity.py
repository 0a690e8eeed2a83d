"""How bad a policy finding is; the order matters (critical blocks a submission)."""

from django.db import models


class Severity(models.TextChoices):
    """Declared from least to most severe: `rank` follows the declaration order."""

    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)
