from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "governance.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from governance.audit import signals  # noqa: F401  (login events of reviewers and auditors)
