"""The evidence rows of the permission walk (tests/test_permissions.py), run here against every role.

Owners are refused every evidence page (a pack spans teams) except the public key, which anyone logged
in may read; reviewers, auditors and administrators export and download; anonymous visitors log in.
"""

import pytest

from features.services import feature_create
from governance.evidence.pack import PackScope
from governance.evidence.services import evidence_request
from tests.factories import catalogue_for, complete_declaration
from tests.permissions import ROLES, Visit, expect, known_routes

LOGIN = 302
EVIDENCE_READ = expect(200, owner=403, other_owner=403, anonymous=LOGIN)

EVIDENCE_VISITS = [
    Visit("evidence/", "get", "/evidence/", EVIDENCE_READ),
    Visit(
        "evidence/",
        "post",
        "/evidence/",
        expect(302, owner=403, other_owner=403, anonymous=LOGIN),
        data={"scope": "registry"},
    ),
    Visit("evidence/<int:pk>/status/", "get", "/evidence/{evidence_pack}/status/", EVIDENCE_READ),
    Visit("evidence/<int:pk>/download/", "get", "/evidence/{evidence_pack}/download/", EVIDENCE_READ),
    Visit("evidence/<int:pk>/download/", "post", "/evidence/{evidence_pack}/download/", expect(405, anonymous=LOGIN)),
    Visit("evidence/public-key.pem", "get", "/evidence/public-key.pem", expect(200, anonymous=LOGIN)),
]


@pytest.fixture
def evidence_pack(settings, tmp_path, auditor, owner, team, django_capture_on_commit_callbacks):
    """A ready registry pack, built in a temporary EVIDENCE_DIR with a throwaway signing key."""
    settings.EVIDENCE_DIR = tmp_path / "evidence"
    settings.EVIDENCE_SIGNING_KEY_FILE = str(tmp_path / "evidence-signing-key.pem")
    declaration = complete_declaration()
    catalogue_for(declaration)
    feature_create(actor=owner, key="reco-locale", name="Locale ordering", team=team, declaration=declaration)
    with django_capture_on_commit_callbacks(execute=True):
        pack = evidence_request(actor=auditor, scope=PackScope(kind="registry"), as_of=None)
    pack.refresh_from_db()
    assert pack.is_ready, pack.error
    return pack


def test_every_evidence_route_has_rows():
    evidence_routes = {route for route in known_routes() if route.startswith("evidence/")}
    assert evidence_routes == {visit.route for visit in EVIDENCE_VISITS}


@pytest.mark.django_db
@pytest.mark.parametrize("visit", EVIDENCE_VISITS, ids=lambda v: f"{v.method.upper()} {v.url}")
@pytest.mark.parametrize("role", ROLES)
def test_role_gets_expected_status(client, people, evidence_pack, visit, role):
    if people[role] is not None:
        client.force_login(people[role])
    response = getattr(client, visit.method)(visit.url.format(evidence_pack=evidence_pack.pk), data=visit.data or {})
    assert response.status_code == visit.expected[role], f"{role} {visit.method.upper()} {visit.url}"
    if role == "anonymous":
        assert response["Location"].startswith("/login/")
