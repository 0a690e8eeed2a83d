"""The audit endpoint (governance/audit/api.py): the chain's verification, as the auditor's page shows it."""

import pytest

from governance.audit.chain import head, record
from tests.audit.tampering import remove, tamper

pytestmark = pytest.mark.django_db

VERIFICATION = "/api/v1/audit/verification"


@pytest.fixture
def chain(administrator):
    for n in range(3):
        record(actor=administrator, action="test.event", payload={"n": n})


@pytest.fixture
def as_auditor(api_client, auditor):
    api_client.force_login(auditor)
    return api_client


def test_an_intact_chain_verifies_up_to_its_head(as_auditor, chain):
    sequence, hash_ = head()

    body = as_auditor.get(VERIFICATION).json()

    assert body == {
        "ok": True,
        "checked": sequence,
        "head_sequence": sequence,
        "head_hash": hash_,
        "first_broken_sequence": None,
        "problem": None,
    }


def test_an_altered_event_is_named(as_auditor, chain):
    sequence, _ = head()
    tamper(sequence - 1, action="test.rewritten")

    body = as_auditor.get(VERIFICATION).json()

    assert (body["ok"], body["first_broken_sequence"], body["checked"]) == (False, sequence - 1, sequence - 2)
    assert body["problem"] == f"event {sequence - 1} was altered: its stored hash does not match its contents"


def test_a_removed_event_is_named(as_auditor, chain):
    sequence, _ = head()
    remove(sequence - 1)

    body = as_auditor.get(VERIFICATION).json()

    assert (body["ok"], body["first_broken_sequence"]) == (False, sequence - 1)
    assert "missing" in body["problem"]


@pytest.mark.parametrize("role", ["owner", "other_owner"])
def test_owners_do_not_read_the_chain(request, api_client, role):
    api_client.force_login(request.getfixturevalue(role))

    response = api_client.get(VERIFICATION)

    assert (response.status_code, response.json()["code"]) == (403, "not_allowed")


def test_an_administrator_token_verifies_the_chain(api_client, token_header, administrator, chain):
    response = api_client.get(VERIFICATION, headers=token_header(administrator, scopes=["evidence:read"]))

    assert response.status_code == 200
    assert response.json()["ok"] is True
