"""`manage.py verify_audit` exits 0 on an intact chain and 1 naming the first broken link."""

import io

import pytest
from django.core.management import CommandError, call_command

from governance.audit.chain import record
from tests.audit.tampering import tamper

pytestmark = pytest.mark.django_db


def run() -> str:
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def test_verify_audit_reports_an_intact_chain_and_its_head():
    events = [record(actor=None, action="feature.created", payload={"n": n}) for n in range(3)]
    assert run().strip() == f"Audit chain intact: 3 events, head 3 {events[-1].hash}"


def test_verify_audit_fails_with_exit_code_1_at_the_altered_event():
    for n in range(3):
        record(actor=None, action="feature.created", payload={"n": n})
    tamper(2, action="feature.deleted")
    with pytest.raises(CommandError, match="broken at event 2: event 2 was altered") as failure:
        run()
    assert failure.value.returncode == 1


def test_verify_audit_exits_1_from_the_command_line():
    record(actor=None, action="feature.created")
    tamper(1, object_label="forged")
    with pytest.raises(SystemExit) as exit_status:
        from django.core.management import ManagementUtility

        ManagementUtility(["manage.py", "verify_audit"]).execute()
    assert exit_status.value.code == 1
