"""The permission walk of the API: every route under api/v1/ × every way in → the status it answers.

The ways in are the six roles of the HTML walk (tests/test_permissions.py), signed in with a session,
plus three bearer tokens: the owner's token holding every scope, the owner's token holding every scope
but the one the route needs, and an administrator's token holding every scope. This table is the
authority for api/v1/ routes: a new route without a row fails `test_every_api_route_is_in_the_table`.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import pytest
from django.urls import resolve
from django.utils import timezone

from features.models import Finding, FindingSource, ServiceIdentity
from features.services import feature_create, registration_submit
from governance.accounts.models import TokenScope
from governance.accounts.tokens import issuable_scopes
from governance.api.docs import required_scope
from governance.evidence.models import EvidencePack, PackStatus, ScopeKind
from governance.policy.severity import Severity
from tests.factories import ServiceIdentityFactory, SignalFactory, catalogue_for, complete_declaration
from tests.permissions import ROLES, assert_denial_logged, known_routes

TOKENS = ("owner_token", "token_without_scope", "administrator_token")
TOKEN_HOLDERS = {"owner_token": "owner", "token_without_scope": "owner", "administrator_token": "administrator"}
WAYS_IN = (*ROLES, *TOKENS)
FEATURE = "reco-locale"  # a draft of the owner's team
IN_REVIEW = "reco-history"  # the owner's team, version 1 submitted, with an open policy finding
LOGIN = 302  # the docs pages are pages: anonymous visitors (and bearer tokens) are sent to log in
UNTIL = (timezone.localdate() + datetime.timedelta(days=30)).isoformat()
REVIEWS, EVIDENCE, REGISTRATIONS, OBSERVATIONS = (
    TokenScope.REVIEWS_WRITE,
    TokenScope.EVIDENCE_READ,
    TokenScope.REGISTRATIONS_WRITE,
    TokenScope.OBSERVATIONS_WRITE,
)
UNKNOWN = r"api/v1/^(?P<unknown>[\s\S]+)\Z"  # the JSON 404 catch-all, newlines included
CATALOGUE = TokenScope.CATALOGUE_WRITE  # administrators' tokens alone may hold it


def expect(default: int, **by_way_in: int) -> dict[str, int]:
    unknown = set(by_way_in) - set(WAYS_IN)
    assert not unknown, unknown
    return {way_in: by_way_in.get(way_in, default) for way_in in WAYS_IN}


@dataclass(frozen=True)
class ApiVisit:
    route: str  # as the resolver spells it
    method: str
    url: str  # may name objects: {finding}, {drift_finding}, {evidence_pack}
    expected: dict[str, int]
    scope: str | None = None  # the token scope the route needs for this method (None: any live token)
    data: dict | None = None


# Who reads across teams (reviewers, auditors, administrators) against who does not.
CROSS_TEAM_READ = expect(200, owner=403, other_owner=403, anonymous=401, owner_token=403, token_without_scope=403)
# Reading what belongs to the owner's team: the other team's owner does not even see it.
TEAM_READ = expect(200, other_owner=404, anonymous=401)
# Decisions and risk acceptance: reviewers only; the other team's owner does not see the object.
REVIEWER_WRITES = expect(
    403, reviewer=200, other_owner=404, anonymous=401, token_without_scope=401
)  # owner_token: an owner is no reviewer
EVIDENCE_READ = expect(200, owner=403, other_owner=403, anonymous=401, owner_token=403, token_without_scope=401)
ANY_SIGNED_IN = expect(200, anonymous=401)
NOT_ALLOWED = expect(405, anonymous=401)  # the method is refused once the caller is known
DOCS_PAGE = expect(200, anonymous=LOGIN, owner_token=LOGIN, token_without_scope=LOGIN, administrator_token=LOGIN)
# Owners of the feature's team change its registration; nobody else (another team's owner does not see it).
OWNER_WRITES = expect(403, owner=200, other_owner=404, anonymous=401, owner_token=200, token_without_scope=401)
# The catalogue and the inventory: administrators, in a session (no token can hold catalogue:write yet).
ADMIN_WRITES = expect(
    403, administrator=200, administrator_token=200, anonymous=401, owner_token=401, token_without_scope=401
)
DECLARATION = complete_declaration().as_dict()
DECIDE = {"outcome": "request_changes", "comment": "Drop the wildcard scope."}
ACCEPT = {"reason": "Rotation is scheduled for next sprint.", "until": UNTIL}

VISITS = [
    # --- the registry (features/api_urls.py) -----------------------------------------------------------
    ApiVisit("api/v1/features", "get", "/api/v1/features", ANY_SIGNED_IN),
    ApiVisit(
        "api/v1/features",
        "post",
        "/api/v1/features",
        # Another team's owner names a team that is not theirs: a field error.
        expect(403, owner=201, other_owner=400, anonymous=401, owner_token=201, token_without_scope=401),
        scope=REGISTRATIONS,
        data={"key": "new-feature", "name": "New feature", "team": "recommendations", "declaration": DECLARATION},
    ),
    ApiVisit("api/v1/features/<slug:key>", "get", f"/api/v1/features/{FEATURE}", TEAM_READ),
    ApiVisit("api/v1/features/<slug:key>", "post", f"/api/v1/features/{FEATURE}", NOT_ALLOWED),
    ApiVisit("api/v1/features/<slug:key>/versions", "get", f"/api/v1/features/{FEATURE}/versions", TEAM_READ),
    ApiVisit(
        "api/v1/features/<slug:key>/versions/<int:version>",
        "get",
        f"/api/v1/features/{FEATURE}/versions/1",
        TEAM_READ,
    ),
    ApiVisit(
        "api/v1/features/<slug:key>/draft",
        "put",
        f"/api/v1/features/{FEATURE}/draft",
        OWNER_WRITES,
        scope=REGISTRATIONS,
        data=DECLARATION,
    ),
    ApiVisit("api/v1/features/<slug:key>/draft", "get", f"/api/v1/features/{FEATURE}/draft", NOT_ALLOWED),
    ApiVisit(
        "api/v1/features/<slug:key>/submit", "post", f"/api/v1/features/{FEATURE}/submit", OWNER_WRITES, REGISTRATIONS
    ),
    ApiVisit("api/v1/features/<slug:key>/diff", "get", f"/api/v1/features/{FEATURE}/diff", TEAM_READ),
    ApiVisit(
        "api/v1/features/<slug:key>/retire", "post", f"/api/v1/features/{FEATURE}/retire", OWNER_WRITES, REGISTRATIONS
    ),
    ApiVisit("api/v1/features/<slug:key>/findings", "get", f"/api/v1/features/{FEATURE}/findings", TEAM_READ),
    ApiVisit("api/v1/findings", "get", "/api/v1/findings", ANY_SIGNED_IN),
    ApiVisit("api/v1/signals", "get", "/api/v1/signals", ANY_SIGNED_IN),
    ApiVisit(
        "api/v1/signals",
        "post",
        "/api/v1/signals",
        {**ADMIN_WRITES, "administrator": 201, "administrator_token": 201},
        scope=CATALOGUE,
        data={"key": "new_signal", "name": "New signal", "category": "context", "sensitivity": "low"},
    ),
    ApiVisit("api/v1/signals/<slug:key>", "get", "/api/v1/signals/{spare_signal}", ANY_SIGNED_IN),
    ApiVisit(
        "api/v1/signals/<slug:key>",
        "patch",
        "/api/v1/signals/{spare_signal}",
        ADMIN_WRITES,
        scope=CATALOGUE,
        data={"name": "Spare (renamed)"},
    ),
    ApiVisit(
        "api/v1/signals/<slug:key>",
        "delete",
        "/api/v1/signals/{spare_signal}",
        {**ADMIN_WRITES, "administrator": 204, "administrator_token": 204},
        scope=CATALOGUE,
    ),
    ApiVisit("api/v1/identities", "get", "/api/v1/identities", ANY_SIGNED_IN),
    ApiVisit(
        "api/v1/identities",
        "post",
        "/api/v1/identities",
        {**ADMIN_WRITES, "administrator": 201, "administrator_token": 201},
        scope=CATALOGUE,
        data={
            "name": "new-svc",
            "kind": "workload_identity",
            "credential_max_lifetime_days": 30,
            "secret_location": "vault://kv/new",
        },
    ),
    ApiVisit("api/v1/identities/<str:name>", "get", "/api/v1/identities/{spare_identity}", ANY_SIGNED_IN),
    ApiVisit(
        "api/v1/identities/<str:name>",
        "patch",
        "/api/v1/identities/{spare_identity}",
        ADMIN_WRITES,
        scope=CATALOGUE,
        data={"description": "Kept for the walk."},
    ),
    ApiVisit(
        "api/v1/identities/<str:name>",
        "delete",
        "/api/v1/identities/{spare_identity}",
        {**ADMIN_WRITES, "administrator": 204, "administrator_token": 204},
        scope=CATALOGUE,
    ),
    ApiVisit("api/v1/check", "post", "/api/v1/check", ANY_SIGNED_IN, data=DECLARATION),
    ApiVisit("api/v1/check", "get", "/api/v1/check", NOT_ALLOWED),
    ApiVisit("api/v1/declaration.schema.json", "get", "/api/v1/declaration.schema.json", ANY_SIGNED_IN),
    # --- reviews -----------------------------------------------------------------------------------------
    ApiVisit("api/v1/reviews/queue", "get", "/api/v1/reviews/queue", CROSS_TEAM_READ),
    ApiVisit("api/v1/reviews/queue", "post", "/api/v1/reviews/queue", NOT_ALLOWED),
    ApiVisit(
        "api/v1/features/<slug:key>/versions/<int:version>/decisions",
        "get",
        f"/api/v1/features/{IN_REVIEW}/versions/1/decisions",
        TEAM_READ,
    ),
    ApiVisit(
        "api/v1/features/<slug:key>/versions/<int:version>/decisions",
        "post",
        f"/api/v1/features/{IN_REVIEW}/versions/1/decisions",
        {**REVIEWER_WRITES, "reviewer": 201},
        scope=REVIEWS,
        data=DECIDE,
    ),
    ApiVisit(
        "api/v1/findings/<int:finding_id>/accept",
        "post",
        "/api/v1/findings/{finding}/accept",
        REVIEWER_WRITES,
        scope=REVIEWS,
        data=ACCEPT,
    ),
    ApiVisit(
        "api/v1/findings/<int:finding_id>/accept",
        "get",
        "/api/v1/findings/{finding}/accept",
        NOT_ALLOWED,
    ),
    ApiVisit("api/v1/drift/findings", "get", "/api/v1/drift/findings", ANY_SIGNED_IN),
    ApiVisit("api/v1/drift/findings", "post", "/api/v1/drift/findings", NOT_ALLOWED),
    ApiVisit(
        "api/v1/drift/findings/<int:finding_id>/accept",
        "post",
        "/api/v1/drift/findings/{drift_finding}/accept",
        REVIEWER_WRITES,
        scope=REVIEWS,
        data=ACCEPT,
    ),
    ApiVisit(
        # A policy finding is not a drift finding: not found here, whoever asks.
        "api/v1/drift/findings/<int:finding_id>/accept",
        "post",
        "/api/v1/drift/findings/{finding}/accept",
        expect(404, anonymous=401, token_without_scope=401),
        scope=REVIEWS,
        data=ACCEPT,
    ),
    # --- evidence ----------------------------------------------------------------------------------------
    ApiVisit("api/v1/evidence/packs", "get", "/api/v1/evidence/packs", EVIDENCE_READ, scope=EVIDENCE),
    ApiVisit(
        "api/v1/evidence/packs",
        "post",
        "/api/v1/evidence/packs",
        {**EVIDENCE_READ, "reviewer": 202, "auditor": 202, "administrator": 202, "administrator_token": 202},
        scope=EVIDENCE,
        data={"scope": {"kind": "registry"}},
    ),
    ApiVisit(
        "api/v1/evidence/packs/<int:pk>", "get", "/api/v1/evidence/packs/{evidence_pack}", EVIDENCE_READ, EVIDENCE
    ),
    ApiVisit("api/v1/evidence/packs/<int:pk>", "post", "/api/v1/evidence/packs/{evidence_pack}", NOT_ALLOWED),
    ApiVisit(
        "api/v1/evidence/packs/<int:pk>/download",
        "get",
        "/api/v1/evidence/packs/{evidence_pack}/download",
        EVIDENCE_READ,
        scope=EVIDENCE,
    ),
    ApiVisit("api/v1/evidence/public-key", "get", "/api/v1/evidence/public-key", ANY_SIGNED_IN),
    ApiVisit("api/v1/evidence/public-key", "post", "/api/v1/evidence/public-key", NOT_ALLOWED),
    # --- audit -------------------------------------------------------------------------------------------
    ApiVisit("api/v1/audit/verification", "get", "/api/v1/audit/verification", CROSS_TEAM_READ),
    ApiVisit("api/v1/audit/verification", "post", "/api/v1/audit/verification", NOT_ALLOWED),
    # --- the schema and its pages ------------------------------------------------------------------------
    ApiVisit("api/v1/schema", "get", "/api/v1/schema", ANY_SIGNED_IN),
    ApiVisit("api/v1/docs", "get", "/api/v1/docs", DOCS_PAGE),
    ApiVisit("api/v1/redoc", "get", "/api/v1/redoc", DOCS_PAGE),
    # --- anything else under api/v1/ is a JSON 404, whoever asks -------------------------------------------
    ApiVisit(UNKNOWN, "get", "/api/v1/no-such-endpoint", expect(404)),
    ApiVisit(UNKNOWN, "post", "/api/v1/findings/not-a-number/accept", expect(404)),
    ApiVisit(UNKNOWN, "get", "/api/v1/features/a%0Ab/versions", expect(404)),
    # --- telemetry (also in the HTML walk): bearer tokens only, an empty batch is a 400 --------------------
    ApiVisit(
        "api/v1/observations",
        "post",
        "/api/v1/observations",
        expect(401, owner_token=400, administrator_token=400),
        scope=OBSERVATIONS,
    ),
    ApiVisit("api/v1/observations", "get", "/api/v1/observations", expect(405)),
]

# Routes that exist but have no rows yet (the registry API was built alongside this table): keep it empty.
ROUTES_PENDING: set[str] = set()


@pytest.fixture
def feature(owner, team):
    declaration = complete_declaration()
    catalogue_for(declaration)
    return feature_create(actor=owner, key=FEATURE, name="Locale ordering", team=team, declaration=declaration)


@pytest.fixture
def finding(owner, team, feature):
    """A version in review with an open policy finding (its identity holds more scopes than it needs)."""
    ServiceIdentity.objects.filter(name="reco-reader").update(granted_scopes=["profile:read", "orders:read"])
    in_review = feature_create(
        actor=owner, key=IN_REVIEW, name="History", team=team, declaration=complete_declaration()
    )
    registration_submit(actor=owner, feature=in_review)
    return Finding.objects.filter(registration__feature=in_review, status="open").first()


@pytest.fixture
def drift_finding(feature):
    return Finding.objects.create(
        feature=feature,
        source=FindingSource.DRIFT,
        rule_id="undeclared-signal",
        severity=Severity.WARNING,
        message="purchase_history was observed but is not declared.",
        path="signals",
        fingerprint="undeclared-signal:purchase_history",
    )


@pytest.fixture
def evidence_pack(settings, tmp_path, auditor):
    """A ready pack whose file hashes to what the row says (the download checks no more than that)."""
    settings.EVIDENCE_DIR = tmp_path / "evidence"
    settings.EVIDENCE_DIR.mkdir()
    content = b"PK\x05\x06" + bytes(18)  # an empty ZIP
    (settings.EVIDENCE_DIR / "evidence-registry-walk.zip").write_bytes(content)
    return EvidencePack.objects.create(
        requested_by=auditor,
        scope_kind=ScopeKind.REGISTRY,
        status=PackStatus.READY,
        file_name="evidence-registry-walk.zip",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        progress_done=1,
        progress_total=1,
    )


@pytest.fixture
def spare_signal(db):
    """A catalogue entry nothing declares: it may be changed and deleted."""
    return SignalFactory(key="spare_signal")


@pytest.fixture
def spare_identity(db):
    return ServiceIdentityFactory(name="spare-identity", team=None)


@pytest.fixture
def tokens(token_header, owner, administrator, team):
    every = issuable_scopes(owner)  # every scope but catalogue:write, which administrators' tokens alone hold
    without = {
        scope: token_header(owner, scopes=[s for s in every if s != scope], teams=[team], name=f"no-{scope}")
        for scope in every
    }
    return {
        "owner_token": token_header(owner, scopes=every, teams=[team]),
        "administrator_token": token_header(administrator, scopes=TokenScope.values),
        "token_without_scope": without,
    }


# The objects a URL may name, and the attribute that names each.
URL_OBJECTS = {
    "finding": "pk",
    "drift_finding": "pk",
    "evidence_pack": "pk",
    "spare_signal": "key",
    "spare_identity": "name",
}


def prepare_api_visit(request, api_client, people, tokens, visit: ApiVisit, way_in: str) -> tuple[str, dict]:
    """Make ready to visit by a way in: a role signs in with a session (anonymous stays out), a token
    way in gives its bearer headers; the objects the URL names are built from their fixtures.

    Returns the concrete URL and the headers to send."""
    headers = {}
    if way_in in ROLES:
        if people[way_in] is not None:
            api_client.force_login(people[way_in])
    elif way_in == "token_without_scope":
        # Every scope but the one the route needs (catalogue:write cannot be issued: no token holds it).
        headers = tokens[way_in].get(visit.scope or TokenScope.OBSERVATIONS_WRITE, tokens["owner_token"])
    else:
        headers = tokens[way_in]
    needed = {
        name: getattr(request.getfixturevalue(name), attribute)
        for name, attribute in URL_OBJECTS.items()
        if f"{{{name}}}" in visit.url
    }
    if IN_REVIEW in visit.url:
        request.getfixturevalue("finding")  # the version in review comes with it
    return visit.url.format(**needed), headers


def test_every_api_route_is_in_the_table():
    api_routes = {route for route in known_routes() if route.startswith("api/v1/")}
    assert api_routes - {visit.route for visit in VISITS} - ROUTES_PENDING == set()


@pytest.mark.parametrize(
    "visit", [v for v in VISITS if v.route != "api/v1/observations"], ids=lambda v: f"{v.method.upper()} {v.route}"
)
def test_the_table_names_the_scope_each_view_requires(visit):
    view = resolve(visit.url.format(**dict.fromkeys(URL_OBJECTS, "1"))).func
    view_class = getattr(view, "view_class", getattr(view, "cls", None))
    if view_class is None or not hasattr(view_class, "authentication_classes"):
        assert visit.scope is None
        return
    assert required_scope(view_class, visit.method) == visit.scope


@pytest.mark.parametrize("visit", VISITS, ids=lambda v: f"{v.method.upper()} {v.url}")
@pytest.mark.parametrize("way_in", WAYS_IN)
def test_way_in_gets_expected_status(request, api_client, caplog, people, tokens, feature, visit, way_in):
    url, headers = prepare_api_visit(request, api_client, people, tokens, visit, way_in)
    method = getattr(api_client, visit.method)
    caplog.clear()
    response = (
        method(url, data=visit.data, format="json", headers=headers) if visit.data else method(url, headers=headers)
    )
    assert response.status_code == visit.expected[way_in], (
        f"{way_in} {visit.method.upper()} {url}: {response.content[:300]!r}"
    )
    if response.status_code >= 400 and response.get("Content-Type", "").startswith("application/json"):
        body = response.json()
        assert body.get("code") or body.get("error"), body  # every refusal says what, machine-readably
    if response.status_code == LOGIN:
        assert response["Location"].startswith("/login/")
    assert_denial_logged(caplog.records, response, url=url, username=acting_for(people, way_in, url, response))


def acting_for(people, way_in: str, url: str, response) -> str | None:
    """Who the request acts for: the signed-in person; for a bearer token, its holder if an API view
    accepted it (pages and the unknown-endpoint answer do not read tokens, nor does a refused one)."""
    if way_in in ROLES:
        return people[way_in].username if people[way_in] else None
    view = resolve(unquote(urlsplit(url).path)).func
    reads_tokens = hasattr(getattr(view, "view_class", getattr(view, "cls", None)), "authentication_classes")
    return people[TOKEN_HOLDERS[way_in]].username if reads_tokens and response.status_code != 401 else None
