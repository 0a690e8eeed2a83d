"""Every page, with every role: owner of the team, owner of another team, reviewer, auditor,
administrator and anonymous visitor. Owners cannot even see other teams' features (404); reviewers,
auditors and administrators read everything and change nothing here (403); anonymous users log in."""

import pytest

from features.models import Finding, ServiceIdentity
from features.services import feature_create, registration_submit
from governance.accounts.tokens import token_issue
from governance.evidence.pack import PackScope
from governance.evidence.services import evidence_request
from tests.factories import catalogue_for, complete_declaration
from tests.permissions import Visit, assert_denial_logged, expect, routes_missing_from

FEATURE = "reco-locale"
DRAFT = complete_declaration().as_dict()
DRAFT_FORM = {
    "explanation": DRAFT["explanation"],
    "requested_tier": "1",
    "signals-TOTAL_FORMS": "0",
    "signals-INITIAL_FORMS": "0",
    "identities-TOTAL_FORMS": "0",
    "identities-INITIAL_FORMS": "0",
    "destinations-TOTAL_FORMS": "0",
    "destinations-INITIAL_FORMS": "0",
    "action": "save",
}
LOGIN = 302
READ = expect(200, other_owner=404, anonymous=LOGIN)
OWNER_ONLY = expect(403, owner=200, other_owner=404, anonymous=LOGIN)
OWNER_WRITES = expect(403, owner=302, other_owner=404, anonymous=LOGIN)
REVIEW_READ = expect(200, owner=403, other_owner=403, anonymous=LOGIN)
REVIEWER_WRITES = expect(403, reviewer=302, anonymous=LOGIN)
IN_REVIEW = "reco-history"
# Every role issues tokens for its own scripts; a POST naming a team or scope not theirs re-shows the form.
TOKEN_PAGES = expect(200, anonymous=LOGIN)
TOKEN_NEW = {
    "name": "reco-otel-collector",
    "scopes": ["observations:write"],
    "teams": ["recommendations"],
    "expires_in_days": "30",
}

VISITS = [
    Visit("", "get", "/", expect(302)),
    Visit("login/", "get", "/login/", expect(200)),
    Visit("logout/", "post", "/logout/", expect(302)),
    Visit("features/", "get", "/features/", expect(200, anonymous=LOGIN)),
    Visit("features/new/", "get", "/features/new/", expect(403, owner=200, other_owner=200, anonymous=LOGIN)),
    Visit(
        "features/new/",
        "post",
        "/features/new/",
        expect(403, owner=302, other_owner=200, anonymous=LOGIN),
        data={**DRAFT_FORM, "key": "new-feature", "name": "New feature", "team": "recommendations"},
    ),
    Visit("features/<slug:key>/", "get", f"/features/{FEATURE}/", READ),
    Visit("features/<slug:key>/edit/", "get", f"/features/{FEATURE}/edit/", OWNER_ONLY),
    Visit("features/<slug:key>/edit/", "post", f"/features/{FEATURE}/edit/", OWNER_WRITES, data=DRAFT_FORM),
    Visit("features/<slug:key>/submit/", "post", f"/features/{FEATURE}/submit/", OWNER_WRITES),
    Visit("features/<slug:key>/diff/", "get", f"/features/{FEATURE}/diff/", READ),
    Visit("features/<slug:key>/versions/<int:version>/", "get", f"/features/{FEATURE}/versions/1/", READ),
    Visit("reviews/", "get", "/reviews/", REVIEW_READ),
    Visit("reviews/<slug:key>/v<int:version>/", "get", f"/reviews/{IN_REVIEW}/v1/", REVIEW_READ),
    Visit(
        "reviews/<slug:key>/v<int:version>/decide/",
        "post",
        f"/reviews/{IN_REVIEW}/v1/decide/",
        REVIEWER_WRITES,
        data={"outcome": "request_changes", "comment": "Drop the wildcard scope."},
    ),
    Visit(
        "reviews/findings/<int:finding_id>/accept/",
        "post",
        "/reviews/findings/{finding}/accept/",
        REVIEWER_WRITES,
        data={"reason": "Rotation is scheduled.", "until": "2099-01-01"},
    ),
    Visit("audit/", "get", "/audit/", REVIEW_READ),
    Visit("audit/", "post", "/audit/", expect(405, anonymous=LOGIN)),
    Visit("tokens/", "get", "/tokens/", TOKEN_PAGES),
    Visit("tokens/new/", "get", "/tokens/new/", TOKEN_PAGES),
    Visit("tokens/new/", "post", "/tokens/new/", TOKEN_PAGES, data=TOKEN_NEW),
    Visit(
        "tokens/<int:pk>/revoke/",
        "post",
        "/tokens/{api_token}/revoke/",
        expect(404, owner=302, administrator=302, anonymous=LOGIN),  # someone else's token: not found
    ),
    Visit("tokens/<int:pk>/revoke/", "get", "/tokens/{api_token}/revoke/", expect(405, anonymous=LOGIN)),
    Visit("drift/", "get", "/drift/", REVIEW_READ),
    Visit("drift/", "post", "/drift/", expect(405, anonymous=LOGIN)),
    Visit("drift/features/<slug:key>/", "get", f"/drift/features/{FEATURE}/", READ),
    Visit("drift/features/<slug:key>/", "post", f"/drift/features/{FEATURE}/", expect(405, anonymous=LOGIN)),
    Visit("evidence/", "get", "/evidence/", REVIEW_READ),
    Visit("evidence/", "post", "/evidence/", expect(302, owner=403, other_owner=403), data={"scope": "registry"}),
    Visit("evidence/<int:pk>/status/", "get", "/evidence/{evidence_pack}/status/", REVIEW_READ),
    Visit("evidence/<int:pk>/download/", "get", "/evidence/{evidence_pack}/download/", REVIEW_READ),
    Visit("evidence/<int:pk>/download/", "post", "/evidence/{evidence_pack}/download/", expect(405, anonymous=LOGIN)),
    Visit("evidence/public-key.pem", "get", "/evidence/public-key.pem", expect(200, anonymous=LOGIN)),
    # Machine endpoints authenticate by bearer token only: a browser session is not one.
    Visit("api/v1/observations", "post", "/api/v1/observations", expect(401)),
    Visit("api/v1/observations", "get", "/api/v1/observations", expect(405)),
    Visit("v1/traces", "post", "/v1/traces", expect(401)),
    Visit("v1/traces", "get", "/v1/traces", expect(405)),
]


URL_OBJECTS = ("finding", "api_token", "evidence_pack")


@pytest.fixture
def feature(owner, team):
    declaration = complete_declaration()
    catalogue_for(declaration)
    return feature_create(actor=owner, key=FEATURE, name="Locale ordering", team=team, declaration=declaration)


@pytest.fixture
def finding(owner, team, feature):
    """A version in review with an open finding (its identity holds more scopes than it needs)."""
    ServiceIdentity.objects.filter(name="reco-reader").update(granted_scopes=["profile:read", "orders:read"])
    in_review = feature_create(
        actor=owner, key=IN_REVIEW, name="History", team=team, declaration=complete_declaration()
    )
    registration_submit(actor=owner, feature=in_review)
    return Finding.objects.filter(registration__feature=in_review).first()


@pytest.fixture
def api_token(owner, team):
    return token_issue(
        actor=owner, name="reco-otel-collector", scopes=["observations:write"], teams=[team], expires_in_days=30
    ).token


@pytest.fixture
def evidence_pack(settings, tmp_path, auditor, feature, django_capture_on_commit_callbacks):
    settings.EVIDENCE_DIR = tmp_path / "evidence"
    settings.EVIDENCE_SIGNING_KEY_FILE = str(tmp_path / "evidence-signing-key.pem")
    with django_capture_on_commit_callbacks(execute=True):
        pack = evidence_request(actor=auditor, scope=PackScope(kind="registry"), as_of=None)
    pack.refresh_from_db()
    return pack


def test_every_route_is_in_the_permission_table():
    # Routes under /api/v1/ are walked by tests/api/test_api_walk.py (sessions and tokens).
    assert {route for route in routes_missing_from(VISITS) if not route.startswith("api/v1/")} == set()


@pytest.mark.parametrize("visit", VISITS, ids=lambda v: f"{v.method.upper()} {v.url}")
@pytest.mark.parametrize("role", ["owner", "other_owner", "reviewer", "auditor", "administrator", "anonymous"])
def test_role_gets_expected_status(request, client, caplog, people, feature, visit, role):
    if people[role] is not None:
        client.force_login(people[role])
    # Build only the objects this URL needs (an evidence pack or a finding costs real work).
    needed = {name: request.getfixturevalue(name).pk for name in URL_OBJECTS if f"{{{name}}}" in visit.url}
    if IN_REVIEW in visit.url:
        request.getfixturevalue("finding")  # the version in review comes with it
    url = visit.url.format(**needed)
    caplog.clear()
    response = getattr(client, visit.method)(url, data=visit.data or {})
    expected = visit.expected[role]
    assert response.status_code == expected, f"{role} {visit.method.upper()} {visit.url}"
    if response.status_code == LOGIN and role == "anonymous" and visit.url not in ("/", "/logout/"):
        assert response["Location"].startswith("/login/")
    person = people[role]
    assert_denial_logged(caplog.records, response, url=url, username=person.username if person else None)


def test_administrators_manage_catalogue_inventory_teams_and_users_in_the_admin(client, administrator, owner):
    client.force_login(administrator)
    for url in [
        "/admin/features/signal/",
        "/admin/features/serviceidentity/",
        "/admin/accounts/team/",
        "/admin/accounts/user/",
        "/admin/features/signal/add/",
    ]:
        assert client.get(url).status_code == 200, url
    client.force_login(owner)
    assert client.get("/admin/features/signal/").status_code == 302
