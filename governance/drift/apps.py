from django.apps import AppConfig


class DriftConfig(AppConfig):
    name = "governance.drift"
    label = "drift"
    verbose_name = "Observed data paths and drift"
