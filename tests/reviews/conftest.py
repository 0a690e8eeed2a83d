import pytest

from governance.accounts.models import Role
from tests.factories import UserFactory
from tests.reviews.support import freeze_today


@pytest.fixture
def today(monkeypatch):
    return freeze_today(monkeypatch)


@pytest.fixture
def second_reviewer(db):
    return UserFactory(username="second-reviewer", role=Role.REVIEWER)
