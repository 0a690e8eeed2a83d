"""The demo data: one command gives a registry a newcomer can click through."""

from io import StringIO

import pytest
from django.core.management import call_command

from features.choices import FeatureStatus, IdentityKind, IdentityStatus, RegistrationStatus, Tier
from features.demo import LOGINS, DemoNotLoaded, load_demo
from features.models import Feature, Registration, ServiceIdentity, Signal
from features.selectors import latest_registration
from governance.accounts.models import Role, User
from tests.factories import SignalFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    return load_demo()


def test_loading_into_an_empty_database_reports_it_loaded(demo):
    assert demo.loaded
    assert demo.counts["features"] == Feature.objects.count() > 0


def test_every_role_gets_a_login_with_its_development_password(demo):
    for role in Role:
        assert User.objects.filter(role=role).exists(), role
    for login in LOGINS:
        user = User.objects.get(username=login.username)
        assert user.check_password(login.password), login.username
        assert len(login.password) >= 12
        assert user.get_full_name()


def test_owners_and_reviewers_sit_where_the_workflow_needs_them(demo):
    owner = User.objects.get(username="owner")
    assert set(owner.teams.values_list("slug", flat=True)) == {"recommendations", "search"}
    assert User.objects.get(username="owner2").teams.filter(slug="payments").exists()
    assert User.objects.filter(role=Role.REVIEWER, teams__isnull=True).count() >= 2
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser


def test_catalogue_spans_every_sensitivity(demo):
    assert Signal.objects.count() >= 25
    assert set(Signal.objects.values_list("sensitivity", flat=True)) == {"low", "medium", "high", "special"}


def test_identity_inventory_holds_the_deliberate_mistakes(demo):
    identities = ServiceIdentity.objects.all()
    assert identities.count() >= 10
    assert identities.filter(kind=IdentityKind.API_KEY).exists()
    assert identities.filter(credential_max_lifetime_days__gte=400).exists()
    assert any(not i.secret_location.startswith(("vault://", "awssm://")) for i in identities), (
        "one secret should live outside a secrets manager"
    )
    assert any("*" in i.granted_scopes for i in identities)
    assert identities.filter(team__isnull=True).exists()
    assert identities.filter(status=IdentityStatus.DISABLED).exists()


def test_features_cover_every_status_and_every_tier(demo):
    assert set(Feature.objects.values_list("status", flat=True)) == set(FeatureStatus.values)
    tiers = {latest_registration(feature).requested_tier for feature in Feature.objects.all()}
    assert tiers == set(Tier.values)


def test_a_feature_has_an_approved_version_and_a_newer_one_in_review(demo):
    feature = Feature.objects.get(key="product-recommendations")
    assert feature.status == FeatureStatus.IN_REVIEW
    assert list(feature.versions.order_by("version").values_list("status", flat=True)) == [
        RegistrationStatus.APPROVED,
        RegistrationStatus.SUBMITTED,
    ]
    assert feature.approved_registration.version == 1


def test_approved_features_point_at_their_approved_version(demo):
    for feature in Feature.objects.filter(status=FeatureStatus.APPROVED):
        assert feature.approved_registration.status == RegistrationStatus.APPROVED
    assert (
        not Registration.objects.filter(feature__status=FeatureStatus.DRAFT)
        .exclude(status=RegistrationStatus.DRAFT)
        .exists()
    )


def test_a_second_load_changes_nothing(demo):
    before = {
        model: model.objects.count() for model in (User, Signal, ServiceIdentity, Feature, Registration)
    }
    again = load_demo()
    assert not again.loaded
    assert {model: model.objects.count() for model in before} == before


def test_a_database_with_clashing_data_is_refused_untouched(db):
    SignalFactory(key="locale")
    with pytest.raises(DemoNotLoaded, match="locale"):
        load_demo()
    assert not User.objects.exists()


def test_command_prints_the_logins_and_is_idempotent(db):
    first, second = StringIO(), StringIO()
    call_command("load_demo", stdout=first)
    call_command("load_demo", stdout=second)
    assert "Loaded the demo" in first.getvalue()
    assert "already loaded" in second.getvalue()
    for login in LOGINS:
        assert login.username in second.getvalue() and login.password in second.getvalue()


def test_demo_is_never_loaded_in_production(db, settings):
    settings.PRODUCTION = True
    with pytest.raises(DemoNotLoaded, match="production"):
        load_demo()
    assert not User.objects.exists()


def test_every_demo_feature_page_renders_for_the_auditor(demo, client):
    client.force_login(User.objects.get(username="auditor"))
    assert client.get("/features/").status_code == 200
    for feature in Feature.objects.all():
        for url in (f"/features/{feature.key}/", f"/features/{feature.key}/diff/"):
            assert client.get(url).status_code == 200, url
    diff = client.get("/features/product-recommendations/diff/?from=1&to=2")
    assert b"cart_contents" in diff.content
