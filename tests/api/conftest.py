"""Shared fixtures for the API tests. Append new fixtures; several test modules rely on these."""

import pytest
from rest_framework.test import APIClient

from governance.accounts.tokens import issuable_scopes, token_issue

# --- clients and tokens (tests/api/test_*_api.py, tests/api/test_api_walk.py) ---------------------------


@pytest.fixture
def api_client():
    """DRF's test client: JSON bodies with `format="json"`, a session with `force_login`."""
    return APIClient()


@pytest.fixture
def token_header():
    """`token_header(actor, scopes=[...], teams=[...])`: issue a 30-day token, answer its Authorization header.

    By default the token holds every scope the actor's role may hold and is limited to no team (owners
    must pass their teams).
    """

    def issue(actor, *, scopes=None, teams=(), name="ci-pipeline"):
        scopes = issuable_scopes(actor) if scopes is None else list(scopes)
        issued = token_issue(actor=actor, name=name, scopes=scopes, teams=list(teams), expires_in_days=30)
        return {"Authorization": f"Bearer {issued.plaintext}"}

    return issue


# --- the registry (tests/api/test_features_api*.py, test_declarations*.py, test_same_rules.py) ----------


@pytest.fixture
def registry_catalogue(db):
    """The signals and identities that `complete_declaration()` and the example declaration file name."""
    from features.choices import Sensitivity, SignalCategory
    from tests.factories import ServiceIdentityFactory, SignalFactory

    SignalFactory(key="locale")
    SignalFactory(key="purchase_history", category=SignalCategory.BEHAVIOUR, sensitivity=Sensitivity.MEDIUM)
    ServiceIdentityFactory(name="reco-reader", granted_scopes=["profile:read"])
    ServiceIdentityFactory(name="reco-profile-reader", granted_scopes=["profile:read", "orders:read"])


@pytest.fixture
def declaration_dict():
    """A complete, valid declaration in the declaration file format (a fresh dict each time)."""
    from tests.factories import complete_declaration

    return lambda **overrides: complete_declaration(**overrides).as_dict()


@pytest.fixture
def filed_feature(owner, team, registry_catalogue):
    """`locale-ordering`, owned by `team`, with a complete draft as version 1."""
    from features.services import feature_create
    from tests.factories import complete_declaration

    return feature_create(
        actor=owner, key="locale-ordering", name="Locale ordering", team=team, declaration=complete_declaration()
    )
