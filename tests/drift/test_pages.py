"""The drift pages: a feature's data paths (declared against observed) and the reviewers' overview."""

import datetime
import json

import pytest
from django.utils import timezone

from features.models import Finding, FindingStatus
from governance.drift.evaluate import evaluate_drift
from tests.factories import PASSWORD, FeatureFactory

pytestmark = pytest.mark.django_db

KEY = "reco-locale"
PATHS = f"/drift/features/{KEY}/"
DASHBOARD = "/drift/"


@pytest.fixture
def drifting(approve_feature, observe_edge):
    """reco-locale, approved for locale → reco-ranker, also sends language and reaches a partner."""
    feature = approve_feature()
    observe_edge(signal="locale", count=120)
    observe_edge(signal="locale", destination="response", count=80)
    observe_edge(signal="language", destination="partner-exchange", count=7)
    evaluate_drift([KEY])
    return feature


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


# --- the data-paths page -----------------------------------------------------------------------------------


def test_the_matrix_highlights_an_undeclared_path(client, owner, drifting):
    response = login(client, owner).get(PATHS)

    assert response.status_code == 200
    paths = response.context["paths"]
    cells = {
        (row.signal, col.name): cell for row in paths.rows for cell, col in zip(row.cells, paths.columns, strict=True)
    }
    assert cells[("language", "partner-exchange")].undeclared
    assert cells[("locale", "reco-ranker")].declared and not cells[("locale", "reco-ranker")].undeclared
    assert cells[("locale", "response")].declared  # a declared signal may shape the response
    html = response.content.decode()
    assert html.count('class="path path-undeclared"') == 1
    assert "1 undeclared path." in html


def test_the_page_lists_declared_and_observed_identities(client, reviewer, approve_feature, observe_edge):
    approve_feature()
    observe_edge(identity="reco-writer")

    response = login(client, reviewer).get(PATHS)

    identities = {row.name: (row.declared, row.undeclared) for row in response.context["paths"].identities}
    assert identities == {"reco-reader": (True, False), "reco-writer": (False, True)}


def test_the_page_shows_the_signals_that_most_often_shaped_responses(client, reviewer, approve_feature, observe_edge):
    approve_feature(signals=("locale", "language"), destinations={})
    observe_edge(signal="locale", destination="response", count=5)
    observe_edge(signal="language", destination="response", count=50)
    observe_edge(signal="language", destination="response", environment="staging", count=1, days_ago=40)

    response = login(client, reviewer).get(PATHS)

    assert response.context["paths"].top_response == (("language", 50), ("locale", 5))


def test_the_page_lists_open_drift_findings_with_an_accept_form_for_reviewers(client, reviewer, drifting):
    response = login(client, reviewer).get(PATHS)

    html = response.content.decode()
    assert {f.rule_id for f in response.context["findings"]} == {"undeclared-signal"}
    assert "Accept the risk" in html
    assert f'<input type="hidden" name="next" value="{PATHS}">' in html


def test_auditors_read_the_findings_without_an_accept_form(client, auditor, drifting):
    response = login(client, auditor).get(PATHS)

    assert response.status_code == 200
    assert "undeclared-signal" in response.content.decode()
    assert "Accept the risk" not in response.content.decode()


def test_a_reviewer_in_the_owning_team_gets_no_accept_form(client, reviewer, team, drifting):
    reviewer.teams.add(team)

    response = login(client, reviewer).get(PATHS)

    assert "Accept the risk" not in response.content.decode()


def test_accepting_from_the_page_comes_back_to_it(client, reviewer, drifting):
    finding = Finding.objects.get(rule_id="undeclared-signal")
    until = (timezone.localdate() + datetime.timedelta(days=20)).isoformat()

    response = login(client, reviewer).post(
        f"/reviews/findings/{finding.pk}/accept/", {"reason": "Partner contract signed.", "until": until, "next": PATHS}
    )

    assert response.status_code == 302 and response.url == PATHS
    finding.refresh_from_db()
    assert finding.status == FindingStatus.ACCEPTED


def test_an_unregistered_key_has_a_page_for_reviewers(client, reviewer, drift_catalogue, observe_edge):
    observe_edge("secret-reco", signal="purchase_history")
    evaluate_drift(["secret-reco"])

    response = login(client, reviewer).get("/drift/features/secret-reco/")

    assert response.status_code == 200
    assert "not registered" in response.content.decode()
    assert {f.rule_id for f in response.context["findings"]} == {"shadow-feature"}


def test_an_unregistered_key_is_not_found_for_owners(client, owner, drift_catalogue, observe_edge):
    observe_edge("secret-reco")

    assert login(client, owner).get("/drift/features/secret-reco/").status_code == 404


def test_a_key_nobody_observed_is_not_found(client, reviewer):
    assert login(client, reviewer).get("/drift/features/nothing-here/").status_code == 404


@pytest.mark.parametrize(
    ("role", "status"),
    [("owner", 200), ("other_owner", 404), ("reviewer", 200), ("auditor", 200), ("administrator", 200)],
)
def test_the_data_paths_page_follows_the_feature_page_access(client, request, drifting, role, status):
    user = request.getfixturevalue(role)

    assert login(client, user).get(PATHS).status_code == status


def test_anonymous_visitors_are_sent_to_log_in(client, drifting):
    response = client.get(PATHS)

    assert response.status_code == 302 and response.url.startswith("/login/")


def test_the_feature_page_links_to_its_data_paths(client, owner, drifting):
    response = login(client, owner).get(f"/features/{KEY}/")

    assert f'href="{PATHS}"' in response.content.decode()


# --- the overview --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("owner", 403), ("other_owner", 403), ("reviewer", 200), ("auditor", 200), ("administrator", 200)],
)
def test_the_overview_is_for_cross_team_readers(client, request, role, status):
    user = request.getfixturevalue(role)

    assert login(client, user).get(DASHBOARD).status_code == status


def test_the_overview_counts_open_drift_by_severity_and_team(client, reviewer, drifting, observe_edge):
    observe_edge("secret-reco", identity="legacy-key")
    evaluate_drift(["secret-reco"])

    response = login(client, reviewer).get(DASHBOARD)

    overview = response.context["overview"]
    assert overview.by_severity == {"critical": 1, "warning": 1, "info": 0}
    assert [(row.team, row.critical, row.warning, row.total) for row in overview.by_team] == [
        ("Recommendations", 0, 1, 1),
        ("Unregistered", 1, 0, 1),
    ]
    assert [f.feature_key for f in response.context["newest"]] == ["secret-reco", KEY]


def test_the_overview_charts_the_last_30_days_from_a_json_block(client, reviewer, drifting):
    response = login(client, reviewer).get(DASHBOARD)

    html = response.content.decode()
    start = html.index('<script id="drift-chart-data" type="application/json">') + len(
        '<script id="drift-chart-data" type="application/json">'
    )
    chart = json.loads(html[start : html.index("</script>", start)])
    assert len(chart["labels"]) == 30 and chart["labels"][-1] == timezone.localdate().isoformat()
    assert chart["observed"][-1] == 120 + 80 + 7
    assert chart["new_findings"][-1] == 1
    assert "js/vendor/chart.umd.min.js" in html and "js/drift-chart.js" in html
    assert "<script>" not in html  # nothing inline: the CSP forbids it


def test_the_overview_refreshes_its_newest_findings_alone(client, reviewer, drifting):
    response = login(client, reviewer).get(DASHBOARD, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert html.lstrip().startswith('<table class="table compact" id="newest">')
    assert "<html" not in html


def test_reviewers_see_the_drift_link_in_the_navigation(client, reviewer, owner):
    assert 'href="/drift/"' in login(client, reviewer).get("/features/").content.decode()
    client.logout()
    assert 'href="/drift/"' not in login(client, owner).get("/features/").content.decode()


def test_a_feature_without_an_approved_version_has_an_empty_page(client, owner, team):
    FeatureFactory(key=KEY, team=team)

    response = login(client, owner).get(PATHS)

    assert response.status_code == 200
    assert "No version of this feature is approved yet" in response.content.decode()
    assert response.context["paths"].rows == ()
