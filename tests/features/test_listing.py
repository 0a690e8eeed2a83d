"""What the list pages share (features/listing.py, the filter_control tag): the same output as the Django
machinery they stand in for, only cheaper."""

import datetime
import re

import pytest
from django import forms
from django.http import QueryDict
from django.template import engines
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince

from features.filtersets import FeatureFilterSet
from features.listing import RowUrl, TimeSince
from features.selectors import feature_list
from governance.accounts.models import Team
from governance.reviews.filtersets import ReviewQueueFilterSet
from governance.reviews.selectors import review_queue


@pytest.mark.parametrize("key", ["reco-home", "a", "Reco_Home-2", "9"])
def test_a_row_url_is_the_url_reverse_gives(key):
    assert RowUrl("features:detail", key="slug")(key=key) == reverse("features:detail", kwargs={"key": key})
    review = RowUrl("reviews:review", key="slug", version="int")
    assert review(key=key, version=12) == reverse("reviews:review", kwargs={"key": key, "version": 12})


def test_a_row_url_knows_only_slug_and_int_arguments():
    with pytest.raises(KeyError):
        RowUrl("features:detail", key="path")


@pytest.mark.parametrize(
    "ago",
    [
        datetime.timedelta(0),
        datetime.timedelta(seconds=59),
        datetime.timedelta(minutes=1),
        datetime.timedelta(hours=5, minutes=1),
        datetime.timedelta(days=1),
        datetime.timedelta(days=3),
        datetime.timedelta(days=16, hours=2),
        datetime.timedelta(days=89, minutes=7),
        datetime.timedelta(days=400),
        datetime.timedelta(days=800, hours=3),
    ],
)
def test_time_since_says_what_the_timesince_filter_says(ago):
    since = TimeSince()
    now = timezone.now()
    for _ in range(2):  # the second time from what it remembered
        assert since(now - ago) == timesince(now - ago)
    assert since(None) == ""


def as_django_renders(html: str) -> str:
    """Widget markup without the blank lines Django's option templates leave."""
    return re.sub(r"\n\s*\n", "\n", str(html))


def controls(filterset, names) -> list[tuple[str, str]]:
    template = engines["django"].from_string("{% load filter_controls %}{% filter_control field %}")
    return [
        (template.render({"field": filterset.form[name]}), as_django_renders(filterset.form[name])) for name in names
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    ["", "q=reco&team=payments&tier=2&status=approved", "team=nowhere&tier=9&q=%3Cb%3E%22x%22"],
)
def test_feature_filter_controls_are_the_markup_their_widgets_render(reviewer, team, other_team, query):
    teams = Team.objects.order_by("name")
    filterset = FeatureFilterSet(QueryDict(query), queryset=feature_list(reviewer), teams=teams)
    for ours, django in controls(filterset, ["q", "team", "tier", "status"]):
        assert ours == django


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["", "tier=3&team=recommendations&severity=critical", "severity=worst"])
def test_queue_filter_controls_are_the_markup_their_widgets_render(team, other_team, query):
    filterset = ReviewQueueFilterSet(QueryDict(query), queryset=review_queue())
    for ours, django in controls(filterset, ["tier", "team", "severity"]):
        assert ours == django


class OtherControls(forms.Form):
    grouped = forms.ChoiceField(choices=[("Tiers", [("1", "One"), ("2", "Two")]), ("3", "Three")])
    flag = forms.BooleanField()


@pytest.mark.parametrize("name", ["grouped", "flag"])
def test_other_widgets_are_left_to_django(name):
    template = engines["django"].from_string("{% load filter_controls %}{% filter_control field %}")
    form = OtherControls({"grouped": "2"})
    assert template.render({"field": form[name]}) == str(form[name])
