"""`policy_context_for`: the registry's facts and the settings' thresholds, in a fixed number of queries."""

import pytest

from features.choices import FeatureStatus, IdentityKind, RegistrationStatus, Sensitivity
from features.models import DeclaredIdentity
from features.selectors import policy_context_for
from governance.policy.engine import evaluate
from tests.factories import (
    FeatureFactory,
    RegistrationFactory,
    ServiceIdentityFactory,
    SignalFactory,
    catalogue_for,
    complete_declaration,
)

pytestmark = pytest.mark.django_db


def file_version(identity, *, key, purpose, status=RegistrationStatus.SUBMITTED, version=1, feature=None, **kw):
    feature = feature or FeatureFactory(key=key, **kw)
    registration = RegistrationFactory(feature=feature, version=version, status=status, purpose=purpose)
    DeclaredIdentity.objects.create(registration=registration, identity=identity, scopes=["profile:read"])
    return feature


def test_context_holds_the_catalogue_and_the_inventory():
    SignalFactory(key="purchase_history", sensitivity=Sensitivity.MEDIUM)
    reader = ServiceIdentityFactory(
        name="reco-reader", kind=IdentityKind.API_KEY, granted_scopes=["profile:read", "orders:read"]
    )
    ServiceIdentityFactory(name="orphan", team=None)

    context = policy_context_for()

    assert context.signals["purchase_history"].sensitivity == Sensitivity.MEDIUM
    facts = context.identities["reco-reader"]
    assert facts.kind == IdentityKind.API_KEY
    assert facts.team == reader.team.name
    assert facts.granted_scopes == ("profile:read", "orders:read")
    assert facts.secret_location == "vault://kv/reco-reader"
    assert context.identities["orphan"].team is None
    assert context.feature_key is None


def test_thresholds_come_from_settings(settings):
    settings.GOVERNANCE = {
        **settings.GOVERNANCE,
        "MAX_CREDENTIAL_LIFETIME_DAYS": 14,
        "SECRET_MANAGER_SCHEMES": ("vault",),
        "EXPLANATION_MAX_CHARS": 120,
    }
    context = policy_context_for()
    assert context.max_credential_lifetime_days == 14
    assert context.secret_manager_schemes == ("vault",)
    assert context.explanation_max_chars == 120


def test_a_shorter_lifetime_setting_makes_a_30_day_credential_long_lived(settings):
    declaration = complete_declaration()
    catalogue_for(declaration)  # reco-reader's credential lives 30 days
    assert evaluate(declaration, policy_context_for()) == []

    settings.GOVERNANCE = {**settings.GOVERNANCE, "MAX_CREDENTIAL_LIFETIME_DAYS": 7}

    assert [finding.rule_id for finding in evaluate(declaration, policy_context_for())] == ["long-lived-secret"]


def test_identity_uses_come_from_each_other_features_latest_filed_version():
    reader = ServiceIdentityFactory(name="reco-reader")
    feature = file_version(reader, key="email-digest", purpose="Old purpose.", status=RegistrationStatus.APPROVED)
    file_version(reader, key="email-digest", purpose="New purpose.", version=2, feature=feature)
    file_version(reader, key="home-hero", purpose="Hero banner.", status=RegistrationStatus.APPROVED)

    assert policy_context_for().identity_uses == {
        "reco-reader": {"email-digest": "New purpose.", "home-hero": "Hero banner."}
    }


def test_drafts_retired_features_and_the_feature_itself_are_not_uses():
    reader = ServiceIdentityFactory(name="reco-reader")
    file_version(reader, key="draft-only", purpose="Drafted.", status=RegistrationStatus.DRAFT)
    retired = FeatureFactory(key="gone", status=FeatureStatus.RETIRED)
    file_version(reader, key="gone", purpose="Retired.", status=RegistrationStatus.APPROVED, feature=retired)
    mine = file_version(reader, key="mine", purpose="My purpose.")
    file_version(reader, key="other", purpose="Their purpose.")

    assert policy_context_for(mine).identity_uses == {"reco-reader": {"other": "Their purpose."}}
    assert policy_context_for("mine").feature_key == "mine"


def test_context_is_built_in_a_constant_number_of_queries(django_assert_max_num_queries):
    for n in range(6):
        SignalFactory(key=f"signal_{n}")
        identity = ServiceIdentityFactory(name=f"svc-{n}")
        file_version(identity, key=f"feature-{n}", purpose=f"Purpose {n}.")
    with django_assert_max_num_queries(3):
        context = policy_context_for()
    assert len(context.identity_uses) == 6
