"""The auditor's page at /audit/: who may see it, what it says about the chain, and its filters."""

import pytest

from governance.audit.chain import record
from tests.audit.tampering import tamper
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db

URL = "/audit/"


@pytest.mark.parametrize("role", ["auditor", "reviewer", "administrator"])
def test_cross_team_roles_see_the_trail(client, request, role):
    client.force_login(request.getfixturevalue(role))
    assert client.get(URL).status_code == 200


def test_owner_is_refused_the_trail_because_it_spans_every_team(client, owner):
    client.force_login(owner)
    assert client.get(URL).status_code == 403


def test_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_page_says_the_chain_is_intact(client, auditor):
    client.force_login(auditor)  # the login itself is event 1
    record(actor=None, action="feature.created")
    content = client.get(URL).content.decode()
    assert "Audit chain intact: 2 events verified" in content


def test_page_names_the_first_broken_event(client, auditor):
    for n in range(4):
        record(actor=None, action="feature.created", payload={"n": n})
    tamper(3, payload={"n": 30})
    client.force_login(auditor)
    content = client.get(URL).content.decode()
    assert "Audit chain broken at event 3." in content
    assert "Event 3 was altered: its stored hash does not match its contents." in content


def test_events_are_listed_newest_first_fifty_to_a_page(client, auditor):
    for n in range(60):
        record(actor=None, action="feature.created", payload={"n": n})
    client.force_login(auditor)  # the login is event 61
    first = client.get(URL).context["page"]
    assert [e.sequence for e in first][:2] == [61, 60]
    assert len(first) == 50
    second = client.get(URL, {"page": 2}).context["page"]
    assert [e.sequence for e in second] == list(range(11, 0, -1))


def test_trail_filters_by_action(client, auditor):
    record(actor=None, action="feature.created")
    record(actor=None, action="registration.submitted")
    client.force_login(auditor)
    page = client.get(URL, {"action": "registration.submitted"}).context["page"]
    assert [e.action for e in page] == ["registration.submitted"]
    assert list(client.get(URL, {"action": "never.happened"}).context["page"]) == []


def test_trail_filters_by_object(client, auditor):
    search, payments = TeamFactory(slug="search"), TeamFactory(slug="payments")
    record(actor=None, action="team.created", obj=search)
    record(actor=None, action="team.created", obj=payments)
    client.force_login(auditor)
    page = client.get(URL, {"object_type": "accounts.team", "object_id": str(payments.pk)}).context["page"]
    assert [e.object_label for e in page] == [str(payments)]


def test_filtering_with_htmx_swaps_only_the_events_table(client, auditor):
    record(actor=None, action="feature.created")
    client.force_login(auditor)
    response = client.get(URL, {"action": "feature.created"}, headers={"HX-Request": "true"})
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="events">')
    assert "Audit chain" not in content
