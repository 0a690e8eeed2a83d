"""The feature endpoints: who sees which features, who registers one, filters, ordering and cursor pages."""

import pytest

from features.choices import FeatureStatus
from features.models import Feature, Registration
from features.services import feature_create
from governance.accounts.models import Role, TokenScope
from governance.audit.models import AuditEvent
from tests.factories import FeatureFactory, TeamFactory, UserFactory, complete_declaration

pytestmark = pytest.mark.django_db

FEATURES = "/api/v1/features"
FEATURE = "/api/v1/features/locale-ordering"


def keys(response) -> list[str]:
    return [item["key"] for item in response.json()["results"]]


@pytest.fixture
def other_teams_feature(other_owner, other_team, registry_catalogue):
    return feature_create(
        actor=other_owner,
        key="payment-hints",
        name="Payment hints",
        team=other_team,
        declaration=complete_declaration(),
    )


# --- reading ------------------------------------------------------------------------------------------------


def test_owners_list_their_teams_features_only(api_client, owner, filed_feature, other_teams_feature):
    api_client.force_login(owner)
    response = api_client.get(FEATURES)
    assert response.status_code == 200
    assert keys(response) == ["locale-ordering"]
    item = response.json()["results"][0]
    assert item == item | {"team": "recommendations", "status": "draft", "latest_version": 1, "requested_tier": 1}


@pytest.mark.parametrize("role", ["reviewer", "auditor", "administrator"])
def test_reviewers_auditors_and_administrators_list_every_team(
    request, api_client, role, filed_feature, other_teams_feature
):
    api_client.force_login(request.getfixturevalue(role))
    assert sorted(keys(api_client.get(FEATURES))) == ["locale-ordering", "payment-hints"]


def test_anonymous_callers_get_401_with_a_code(api_client, filed_feature):
    response = api_client.get(FEATURES)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_feature_reads_with_its_current_and_approved_version(api_client, owner, filed_feature):
    api_client.force_login(owner)
    body = api_client.get(FEATURE).json()
    assert body["key"] == "locale-ordering" and body["status"] == "draft" and body["can_edit"] is True
    assert body["current_version"]["version"] == 1 and body["current_version"]["status"] == "draft"
    assert body["approved_version"] is None


def test_an_owner_gets_404_for_another_teams_feature_as_in_the_browser(client, api_client, other_owner, filed_feature):
    api_client.force_login(other_owner)
    client.force_login(other_owner)
    assert api_client.get(FEATURE).status_code == 404
    assert client.get("/features/locale-ordering/").status_code == 404
    assert api_client.get(f"{FEATURE}/versions").status_code == 404
    assert api_client.get(f"{FEATURE}/versions/1").status_code == 404
    assert api_client.get(f"{FEATURE}/diff").status_code == 404
    assert api_client.get(f"{FEATURE}/findings").status_code == 404
    assert api_client.put(f"{FEATURE}/draft", {}, format="json").status_code == 404
    assert api_client.post(f"{FEATURE}/submit").status_code == 404
    assert api_client.post(f"{FEATURE}/retire").status_code == 404


def test_a_reviewer_reads_a_feature_but_may_not_edit_it(api_client, reviewer, filed_feature):
    api_client.force_login(reviewer)
    assert api_client.get(FEATURE).json()["can_edit"] is False


# --- tokens -------------------------------------------------------------------------------------------------


def test_a_token_acts_as_its_issuer_for_reads(api_client, owner, team, token_header, filed_feature):
    headers = token_header(owner, scopes=[TokenScope.OBSERVATIONS_WRITE], teams=[team])
    response = api_client.get(FEATURES, headers=headers)
    assert response.status_code == 200 and keys(response) == ["locale-ordering"]


def test_a_token_limited_to_one_team_sees_only_that_team(
    api_client, team, other_team, token_header, filed_feature, other_teams_feature
):
    both = UserFactory(username="both-teams", role=Role.OWNER, teams=[team, other_team])
    headers = token_header(both, teams=[other_team])
    assert keys(api_client.get(FEATURES, headers=headers)) == ["payment-hints"]
    assert api_client.get(FEATURE, headers=headers).status_code == 404
    assert (
        api_client.put(f"{FEATURE}/draft", complete_declaration().as_dict(), format="json", headers=headers).status_code
        == 404
    )
    # The team filter offers only the token's teams.
    assert api_client.get(FEATURES, {"team": "recommendations"}, headers=headers).status_code == 400


def test_an_administrators_token_limited_to_a_team_sees_that_team(
    api_client, administrator, other_team, token_header, filed_feature, other_teams_feature
):
    headers = token_header(administrator, teams=[other_team])
    assert keys(api_client.get(FEATURES, headers=headers)) == ["payment-hints"]


def test_a_revoked_or_unknown_token_is_401_saying_why(api_client, filed_feature):
    response = api_client.get(FEATURES, headers={"Authorization": "Bearer pgv_nope_nope"})
    assert response.status_code == 401
    assert response.json() == {"code": "authentication_failed", "detail": "The token is not known."}


# --- registering --------------------------------------------------------------------------------------------


def test_an_owner_registers_a_feature_with_its_first_draft(api_client, owner, team, registry_catalogue):
    api_client.force_login(owner)
    body = {
        "key": "reco-home",
        "name": "Home carousel",
        "team": team.slug,
        "declaration": complete_declaration().as_dict(),
    }
    response = api_client.post(FEATURES, body, format="json")
    assert response.status_code == 201, response.json()
    assert response["Location"] == "/api/v1/features/reco-home"
    assert response.json()["current_version"]["status"] == "draft"
    feature = Feature.objects.get(key="reco-home")
    assert feature.versions.get().explanation == complete_declaration().explanation
    assert AuditEvent.objects.filter(action="feature.created").count() == 1


def test_a_feature_may_be_registered_without_a_declaration(api_client, owner, team):
    api_client.force_login(owner)
    response = api_client.post(FEATURES, {"key": "reco-home", "name": "Home", "team": team.slug}, format="json")
    assert response.status_code == 201
    assert response.json()["current_version"]["explanation"] == ""


def test_registering_with_a_token_needs_the_registrations_scope(api_client, owner, team, token_header):
    body = {"key": "reco-home", "name": "Home", "team": team.slug}
    refused = api_client.post(
        FEATURES, body, format="json", headers=token_header(owner, scopes=[TokenScope.OBSERVATIONS_WRITE], teams=[team])
    )
    assert refused.status_code == 401
    assert "lacks the scope registrations:write" in refused.json()["detail"]
    allowed = api_client.post(
        FEATURES,
        body,
        format="json",
        headers=token_header(owner, scopes=[TokenScope.REGISTRATIONS_WRITE], teams=[team]),
    )
    assert allowed.status_code == 201


@pytest.mark.parametrize("role", ["reviewer", "auditor", "administrator"])
def test_only_owners_register_features(request, api_client, role, team):
    api_client.force_login(request.getfixturevalue(role))
    response = api_client.post(FEATURES, {"key": "reco-home", "name": "Home", "team": team.slug}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "not_allowed"
    assert not Feature.objects.exists()


def test_an_owner_cannot_register_for_another_team(api_client, owner, other_team):
    api_client.force_login(owner)
    response = api_client.post(FEATURES, {"key": "reco-home", "name": "Home", "team": other_team.slug}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "team", "code": "invalid", "message": "Choose one of your teams."}]


def test_a_token_limited_to_a_team_cannot_register_for_the_owners_other_team(
    api_client, team, other_team, token_header
):
    both = UserFactory(username="both-teams", role=Role.OWNER, teams=[team, other_team])
    headers = token_header(both, teams=[team])
    response = api_client.post(
        FEATURES, {"key": "pay", "name": "Pay", "team": other_team.slug}, format="json", headers=headers
    )
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "team"


def test_registration_errors_name_the_field_in_the_body(api_client, owner, team, filed_feature):
    api_client.force_login(owner)
    declaration = complete_declaration().as_dict()
    declaration["signals"][0]["retention_days"] = None
    body = {"key": "locale-ordering", "name": "", "team": team.slug, "declaration": declaration}
    response = api_client.post(FEATURES, body, format="json")
    assert response.status_code == 400
    assert {error["field"] for error in response.json()["errors"]} == {
        "key",
        "name",
        "declaration.signals.0.retention_days",
    }
    assert Feature.objects.count() == 1 and Registration.objects.count() == 1  # nothing saved


def test_a_feature_is_registered_from_a_yaml_body(api_client, owner, team, registry_catalogue):
    api_client.force_login(owner)
    body = f"key: reco-yaml\nname: From YAML\nteam: {team.slug}\ndeclaration:\n  explanation: We sort by language.\n"
    response = api_client.post(FEATURES, body, content_type="application/yaml")
    assert response.status_code == 201, response.json()
    assert Registration.objects.get(feature__key="reco-yaml").explanation == "We sort by language."


# --- filters, ordering, pages -------------------------------------------------------------------------------


@pytest.fixture
def catalogue_of_features(team, other_team, owner):
    for index, (key, status, the_team) in enumerate(
        [
            ("alpha-reco", FeatureStatus.DRAFT, team),
            ("beta-search", FeatureStatus.APPROVED, team),
            ("gamma-reco", FeatureStatus.IN_REVIEW, other_team),
            ("delta-ads", FeatureStatus.RETIRED, other_team),
        ]
    ):
        feature = FeatureFactory(key=key, name=key.replace("-", " ").title(), status=status, team=the_team)
        Registration.objects.create(feature=feature, version=1, created_by=owner, requested_tier=index % 4)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "reco"}, ["alpha-reco", "gamma-reco"]),
        ({"team": "payments"}, ["delta-ads", "gamma-reco"]),
        ({"status": "approved"}, ["beta-search"]),
        ({"tier": "2"}, ["gamma-reco"]),
        ({"q": "RECO", "status": "in_review"}, ["gamma-reco"]),
    ],
)
def test_the_list_filters_with_the_pages_filterset(api_client, reviewer, catalogue_of_features, query, expected):
    api_client.force_login(reviewer)
    response = api_client.get(FEATURES, query)
    assert response.status_code == 200
    assert sorted(keys(response)) == expected


@pytest.mark.parametrize("query", [{"status": "lost"}, {"tier": "7"}, {"team": "nobody"}, {"q": "a\x00b"}])
def test_an_invalid_filter_is_a_400_naming_it(api_client, reviewer, catalogue_of_features, query):
    api_client.force_login(reviewer)
    response = api_client.get(FEATURES, query)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == next(iter(query))


def test_the_list_orders_by_name_by_default_and_by_what_is_asked(api_client, reviewer, catalogue_of_features):
    api_client.force_login(reviewer)
    assert keys(api_client.get(FEATURES)) == ["alpha-reco", "beta-search", "delta-ads", "gamma-reco"]
    assert keys(api_client.get(FEATURES, {"ordering": "-key"})) == [
        "gamma-reco",
        "delta-ads",
        "beta-search",
        "alpha-reco",
    ]
    assert keys(api_client.get(FEATURES, {"ordering": "status,key"}))[0] == "beta-search"  # approved < draft < …


def test_ordering_by_an_unknown_field_is_ignored(api_client, reviewer, catalogue_of_features):
    api_client.force_login(reviewer)
    response = api_client.get(FEATURES, {"ordering": "secret_hash,-password"})
    assert response.status_code == 200
    assert keys(response) == ["alpha-reco", "beta-search", "delta-ads", "gamma-reco"]


def test_cursor_pages_walk_the_whole_list_once(api_client, reviewer, team):
    FeatureFactory.create_batch(7, team=team, name="Same name")  # equal names: the key breaks ties
    api_client.force_login(reviewer)
    seen, url, pages = [], f"{FEATURES}?page_size=3", 0
    while url:
        body = api_client.get(url).json()
        assert len(body["results"]) <= 3
        seen += [item["key"] for item in body["results"]]
        url, pages = body["next"], pages + 1
    assert pages == 3
    assert sorted(seen) == sorted(Feature.objects.values_list("key", flat=True)) and len(set(seen)) == 7


def test_no_page_is_longer_than_200_items(api_client, reviewer, team, owner):
    Feature.objects.bulk_create(
        Feature(key=f"bulk-{index:03}", name=f"Bulk {index:03}", team=team, created_by=owner) for index in range(205)
    )
    api_client.force_login(reviewer)
    default = api_client.get(FEATURES).json()
    assert len(default["results"]) == 50 and default["next"]
    largest = api_client.get(FEATURES, {"page_size": "200"}).json()
    assert len(largest["results"]) == 200 and largest["next"]
    assert api_client.get(FEATURES, {"page_size": "201"}).status_code == 400


@pytest.mark.parametrize("page_size", ["0", "-1", "abc", "1.5", "99999999999999999999"])
def test_a_page_size_out_of_range_is_a_400(api_client, reviewer, catalogue_of_features, page_size):
    api_client.force_login(reviewer)
    response = api_client.get(FEATURES, {"page_size": page_size})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "page_size"


def test_a_team_slug_of_another_team_filters_nothing_for_an_owner(api_client, owner, team, catalogue_of_features):
    TeamFactory(slug="elsewhere")
    api_client.force_login(owner)
    assert api_client.get(FEATURES, {"team": "elsewhere"}).status_code == 400
    assert sorted(keys(api_client.get(FEATURES, {"team": team.slug}))) == ["alpha-reco", "beta-search"]


@pytest.mark.parametrize("parameter", ["status", "tier", "team"])
def test_an_empty_choice_filter_is_a_400_where_the_page_means_any(api_client, client, reviewer, parameter):
    api_client.force_login(reviewer)
    client.force_login(reviewer)
    response = api_client.get(FEATURES, {parameter: ""})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == parameter
    assert client.get("/features/", {parameter: ""}).status_code == 200  # the page's "any"


def test_lists_cost_the_same_few_queries_however_long(api_client, reviewer, owner, team, django_assert_max_num_queries):
    from features.models import Finding
    from tests.factories import ServiceIdentityFactory

    for index in range(30):
        feature = FeatureFactory(key=f"feature-{index:02}", team=team, created_by=owner)
        registration = Registration.objects.create(feature=feature, version=1, created_by=owner, submitted_by=owner)
        Finding.objects.create(
            feature=feature,
            registration=registration,
            source="policy",
            rule_id="r",
            severity="info",
            message="m",
            fingerprint=f"r|{index}",
            accepted_by=reviewer,
        )
        ServiceIdentityFactory(team=team)
    api_client.force_login(reviewer)
    for url in [
        FEATURES,
        "/api/v1/findings",
        "/api/v1/identities",
        "/api/v1/signals",
        f"{FEATURES}/feature-01/versions",
    ]:
        with django_assert_max_num_queries(6):
            assert api_client.get(url, {"page_size": "200"}).status_code == 200
