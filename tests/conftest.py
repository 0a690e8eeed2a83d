import pytest

from governance.accounts.models import Role
from tests.factories import TeamFactory, UserFactory

# Headless Chromium against the live server (`browser_page`, `console_errors`, `artefacts`), for any folder.
pytest_plugins = ["tests.browser_fixtures"]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Real hashing costs ~0.3 s a user; tests need the behaviour, not the cost."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def team(db):
    return TeamFactory(slug="recommendations", name="Recommendations")


@pytest.fixture
def other_team(db):
    return TeamFactory(slug="payments", name="Payments")


@pytest.fixture
def owner(team):
    return UserFactory(username="owner", role=Role.OWNER, teams=[team])


@pytest.fixture
def other_owner(other_team):
    return UserFactory(username="other-owner", role=Role.OWNER, teams=[other_team])


@pytest.fixture
def reviewer(db):
    return UserFactory(username="reviewer", role=Role.REVIEWER)


@pytest.fixture
def auditor(db):
    return UserFactory(username="auditor", role=Role.AUDITOR)


@pytest.fixture
def administrator(db):
    return UserFactory(username="admin", role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True)


@pytest.fixture
def people(owner, other_owner, reviewer, auditor, administrator):
    """Each role of the permission walks by name; anonymous is None."""
    return {
        "owner": owner,
        "other_owner": other_owner,
        "reviewer": reviewer,
        "auditor": auditor,
        "administrator": administrator,
        "anonymous": None,
    }


def pytest_terminal_summary(terminalreporter):
    """The permission walks' figures (README, "Security and reliability"), when a walk ran."""
    from tests.permissions import WALK_FIGURES

    if WALK_FIGURES["cells"]:
        figures = ", ".join(f"{name}: {count:,}" for name, count in WALK_FIGURES.items())
        terminalreporter.write_line(f"permission walks: {figures}")
