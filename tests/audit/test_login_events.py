"""Logins of the roles that read across teams are audited; owners' are not."""

import pytest

from governance.audit.models import AuditEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["reviewer", "auditor", "administrator"])
def test_login_of_a_cross_team_role_writes_an_event(client, request, role):
    person = request.getfixturevalue(role)
    assert client.login(username=person.username, password=PASSWORD)
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.actor_label) == ("auth.login", person, person.username)
    assert (event.object_type, event.object_id) == ("accounts.user", str(person.pk))
    assert event.payload["role"] == person.role


def test_login_event_carries_no_password_or_session(client, reviewer):
    client.post("/login/", {"username": "reviewer", "password": PASSWORD})
    event = AuditEvent.objects.get(action="auth.login")
    assert set(event.payload) == {"role", "superuser"}
    assert PASSWORD not in event.payload_text
    assert client.session.session_key not in event.payload_text


def test_login_of_an_owner_writes_no_event(client, owner):
    assert client.login(username=owner.username, password=PASSWORD)
    assert not AuditEvent.objects.exists()
