"""`manage.py benchmark_audit_verify`: times verification on a synthetic chain and keeps nothing."""

import io

import pytest
from django.core.management import CommandError, call_command

from governance.audit.chain import record
from governance.audit.models import AuditEvent

pytestmark = pytest.mark.django_db
NO_TARGET = ("--target-seconds", "1e9")  # a few events say nothing about the speed: no test depends on it


def test_the_benchmark_reports_events_per_second_and_rolls_its_events_back():
    out = io.StringIO()
    call_command("benchmark_audit_verify", "--events", "300", "--chunk-size", "64", *NO_TARGET, stdout=out)
    report = out.getvalue()
    assert "300 events (300 synthetic" in report
    assert "verify per 100,000 events:" in report and "Within the target" in report
    assert not AuditEvent.objects.exists()


def test_the_benchmark_exits_1_when_slower_than_the_target():
    with pytest.raises(CommandError, match="per 100,000 events, over 0 s") as failure:
        call_command("benchmark_audit_verify", "--events", "50", "--target-seconds", "0", stdout=io.StringIO())
    assert failure.value.returncode == 1
    assert not AuditEvent.objects.exists()


def test_the_benchmark_refuses_a_live_trail_unless_forced():
    record(actor=None, action="feature.created")
    with pytest.raises(CommandError, match="holds events"):
        call_command("benchmark_audit_verify", "--events", "10")
    out = io.StringIO()
    call_command("benchmark_audit_verify", "--events", "10", "--force", *NO_TARGET, stdout=out)
    assert "11 events (10 synthetic" in out.getvalue()
    assert AuditEvent.objects.count() == 1
