"""The Django project and the governance apps (accounts, policy, reviews, drift, evidence, audit)."""

from governance.celery import app as celery_app

__all__ = ["celery_app"]
