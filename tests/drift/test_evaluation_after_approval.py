"""An approval triggers drift evaluation of its feature through the drift task, once the decision has
committed: paths the approved version covers stop being drift, paths it does not start being drift."""

import pytest
from django.core.cache import cache

from features.models import Finding, FindingSource, FindingStatus
from governance.drift.evaluate import evaluate_drift
from governance.drift.models import DriftPending
from tests.reviews.support import approve, file_feature

pytestmark = pytest.mark.django_db

KEY = "reco-locale"


def drift(rule_id: str) -> list[tuple[str, str]]:
    findings = Finding.objects.filter(source=FindingSource.DRIFT, feature_key=KEY, rule_id=rule_id)
    return sorted((finding.path, finding.status) for finding in findings)


def test_approving_a_version_judges_the_feature_again_once_the_decision_commits(
    owner, team, reviewer, observe_edge, django_capture_on_commit_callbacks
):
    cache.clear()  # no evaluation left scheduled by an earlier test: this one must ask for its own
    registration = file_feature(owner, team, key=KEY)  # declares locale, read by reco-reader, sent to reco-ranker
    observe_edge(KEY, "locale")
    observe_edge(KEY, "language")
    evaluate_drift([KEY])
    assert drift("shadow-feature") == [("feature reco-locale", FindingStatus.OPEN)]  # observed, not approved

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        approve(reviewer, registration)
        # Decided, not judged yet: the feature is marked, and the task is asked for after the commit.
        assert list(DriftPending.objects.values_list("feature_key", flat=True)) == [KEY]
        assert drift("undeclared-signal") == []
    for callback in callbacks:
        callback()  # the commit: the task runs (eagerly here; in a worker in production)

    assert drift("shadow-feature") == [("feature reco-locale", FindingStatus.RESOLVED)]
    assert drift("undeclared-signal") == [("signal language", FindingStatus.OPEN)]
    assert not DriftPending.objects.exists()
