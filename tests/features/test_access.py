"""Who sees and who edits which feature (features/access.py)."""

import pytest

from features.access import can_edit_feature, can_file_features, visible_features
from tests.factories import FeatureFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

SEE_EVERY_TEAM = ["reviewer", "auditor", "administrator"]


@pytest.fixture
def ours(team, owner):
    return FeatureFactory(key="reco-locale", team=team, created_by=owner)


@pytest.fixture
def theirs(other_team, other_owner):
    return FeatureFactory(key="payments-offers", team=other_team, created_by=other_owner)


def test_owner_sees_only_the_features_of_their_teams(owner, ours, theirs):
    assert list(visible_features(owner)) == [ours]


def test_owner_in_two_teams_sees_the_features_of_both(owner, other_team, ours, theirs):
    owner.teams.add(other_team)
    assert set(visible_features(owner)) == {ours, theirs}


def test_owner_without_a_team_sees_no_features(ours, theirs):
    assert not visible_features(UserFactory(username="teamless")).exists()


def test_owner_sees_each_feature_once(owner, ours):
    owner.teams.add(TeamFactory(slug="search"))
    assert list(visible_features(owner)) == [ours]


@pytest.mark.parametrize("role", SEE_EVERY_TEAM)
def test_reviewer_auditor_and_administrator_see_every_feature(request, role, ours, theirs):
    assert set(visible_features(request.getfixturevalue(role))) == {ours, theirs}


def test_owner_in_the_team_can_edit_its_feature(owner, ours):
    assert can_edit_feature(owner, ours)


def test_owner_of_another_team_cannot_edit_the_feature(other_owner, ours):
    assert not can_edit_feature(other_owner, ours)


@pytest.mark.parametrize("role", SEE_EVERY_TEAM)
def test_non_owner_cannot_edit_a_feature(request, role, ours):
    assert not can_edit_feature(request.getfixturevalue(role), ours)


@pytest.mark.parametrize("role", SEE_EVERY_TEAM)
def test_non_owner_cannot_edit_a_feature_even_as_a_team_member(request, role, team, ours):
    user = request.getfixturevalue(role)
    user.teams.add(team)
    assert not can_edit_feature(user, ours)


def test_owner_with_a_team_can_file_features(owner):
    assert can_file_features(owner)


def test_owner_without_a_team_cannot_file_features(db):
    assert not can_file_features(UserFactory(username="teamless"))


@pytest.mark.parametrize("role", SEE_EVERY_TEAM)
def test_non_owner_cannot_file_features(request, role, team):
    user = request.getfixturevalue(role)
    user.teams.add(team)
    assert not can_file_features(user)
