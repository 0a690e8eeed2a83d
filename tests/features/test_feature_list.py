"""The feature list: search, filters, pagination, and a fixed number of queries however many rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from features.choices import FeatureStatus
from features.models import Feature, Registration
from tests.factories import TeamFactory


def make_features(count: int, team, creator, *, start: int = 0) -> None:
    features = Feature.objects.bulk_create(
        Feature(
            key=f"feature-{n:05d}",
            name=f"Feature {n:05d}",
            team=team,
            created_by=creator,
            status=[FeatureStatus.DRAFT, FeatureStatus.IN_REVIEW, FeatureStatus.APPROVED][n % 3],
        )
        for n in range(start, start + count)
    )
    Registration.objects.bulk_create(
        Registration(feature=f, version=1, created_by=creator, requested_tier=n % 4)
        for n, f in enumerate(features, start)
    )


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_list_uses_the_same_number_of_queries_for_20_and_2000_features(client, reviewer, owner, team):
    client.force_login(reviewer)
    make_features(20, team, owner)
    small = queries_for(client, "/features/")
    make_features(1980, team, owner, start=20)
    large = queries_for(client, "/features/")
    assert large == small
    assert large <= 8


def test_owner_sees_only_their_teams_features(client, owner, other_owner, team, other_team):
    make_features(3, team, owner)
    make_features(2, other_team, other_owner, start=100)
    client.force_login(owner)
    page = client.get("/features/").content.decode()
    assert "feature-00000" in page
    assert "feature-00100" not in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=00004", ["feature-00004"]),
        ("status=approved&q=0000", ["feature-00002", "feature-00005", "feature-00008"]),
        ("tier=3&q=0000", ["feature-00003", "feature-00007"]),
        ("team=payments", ["feature-00100"]),
    ],
)
def test_list_filters_by_search_team_tier_and_status(
    client, reviewer, owner, other_owner, team, other_team, query, expected
):
    make_features(10, team, owner)
    make_features(1, other_team, other_owner, start=100)
    client.force_login(reviewer)
    page = client.get(f"/features/?{query}").content.decode()
    shown = sorted(key for key in (f"feature-{n:05d}" for n in [*range(10), 100]) if key in page)
    assert shown == expected


def test_list_is_paginated_and_keeps_filters_across_pages(client, reviewer, owner, team, settings):
    settings.GOVERNANCE = {**settings.GOVERNANCE, "FEATURES_PER_PAGE": 10}
    make_features(25, team, owner)
    client.force_login(reviewer)
    first = client.get("/features/?q=feature").content.decode()
    assert "page 1 of 3" in first
    assert "q=feature&amp;page=2" in first
    third = client.get("/features/?q=feature&page=3").content.decode()
    assert "feature-00024" in third and "feature-00000" not in third


def test_owner_team_filter_offers_only_their_teams(client, owner, other_team):
    TeamFactory(slug="growth", name="Growth")
    client.force_login(owner)
    page = client.get("/features/").content.decode()
    assert "Recommendations" in page and "Payments" not in page


def test_a_row_links_the_feature_and_shows_its_team_tier_status_version_and_last_change(client, reviewer, owner, team):
    make_features(3, team, owner)
    feature = Feature.objects.get(key="feature-00002")  # approved, tier 2
    client.force_login(reviewer)

    page = client.get("/features/").content.decode()

    updated = timezone.localdate(feature.updated_at).isoformat()
    assert (
        '<td><a href="/features/feature-00002/">Feature 00002</a><div class="muted mono">feature-00002</div></td>\n'
        "      <td>Recommendations</td>\n"
        '      <td><span class="tier tier-2">Tier 2</span></td>\n'
        '      <td><span class="status status-approved">Approved</span></td>\n'
        "      <td>v1</td>\n"
        f"      <td>{updated}</td>"
    ) in page
