import pytest

from governance.accounts.models import TokenScope
from governance.accounts.tokens import token_issue


@pytest.fixture
def issue(team):
    """Issue a token through the service, as the pages do; defaults to a 30-day observations shipper."""

    def issue(actor, **overrides):
        arguments = {
            "name": "reco-otel-collector",
            "scopes": [TokenScope.OBSERVATIONS_WRITE],
            "teams": [team],
            "expires_in_days": 30,
        }
        return token_issue(actor=actor, **(arguments | overrides))

    return issue
