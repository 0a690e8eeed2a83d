"""Housekeeping: idempotency records expire after their retention (governance/drift/maintenance.py)."""

import datetime

import pytest
from django.utils import timezone

from governance.accounts.models import TokenScope
from governance.accounts.tokens import token_issue
from governance.drift import maintenance
from governance.drift.maintenance import IDEMPOTENCY_RETENTION_DAYS, ingest_batches_expire
from governance.drift.models import IngestBatch
from governance.drift.tasks import expire_ingest_batches

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch(administrator):
    token = token_issue(
        actor=administrator,
        name="reco-otel-collector",
        scopes=[TokenScope.OBSERVATIONS_WRITE],
        teams=[],
        expires_in_days=30,
    ).token

    def make(key: str, days_ago: float) -> IngestBatch:
        row = IngestBatch.objects.create(
            token=token, idempotency_key=key, body_sha256="0" * 64, status_code=200, response={"accepted": 1}
        )
        received = timezone.now() - datetime.timedelta(days=days_ago)
        IngestBatch.objects.filter(pk=row.pk).update(received_at=received)  # auto_now_add: set afterwards
        return row

    return make


def keys() -> list[str]:
    return sorted(IngestBatch.objects.values_list("idempotency_key", flat=True))


def test_records_older_than_the_retention_are_deleted_and_counted(batch):
    batch("today", 0)
    batch("within", IDEMPOTENCY_RETENTION_DAYS - 1)
    batch("expired", IDEMPOTENCY_RETENTION_DAYS + 1)
    batch("long-gone", 400)

    assert ingest_batches_expire() == 2
    assert keys() == ["today", "within"]
    assert ingest_batches_expire() == 0  # idempotent: running it again changes nothing


def test_the_retention_is_a_parameter(batch):
    batch("today", 0)
    batch("three-days", 3)

    assert ingest_batches_expire(older_than_days=2) == 1
    assert keys() == ["today"]


def test_a_retention_under_a_day_is_refused(batch):
    batch("today", 0)

    with pytest.raises(ValueError, match="at least 1"):
        ingest_batches_expire(older_than_days=0)
    assert keys() == ["today"]


def test_many_expired_records_go_in_chunks(batch, monkeypatch):
    monkeypatch.setattr(maintenance, "EXPIRE_CHUNK", 2)
    for n in range(5):
        batch(f"old-{n}", 40)
    batch("today", 0)

    assert ingest_batches_expire() == 5
    assert keys() == ["today"]


def test_the_daily_task_expires_with_the_default_retention(batch):
    batch("within", IDEMPOTENCY_RETENTION_DAYS - 1)
    batch("expired", IDEMPOTENCY_RETENTION_DAYS + 1)

    assert expire_ingest_batches.delay().get() == 1  # eager without a broker
    assert keys() == ["within"]
