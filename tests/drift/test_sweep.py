"""The drift sweep: every registered feature and every observed key at once, in a fixed number of queries."""

import datetime
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from features.models import Finding, FindingStatus
from governance.drift.benchmarking import FixtureExists, build_drift_fixture
from governance.drift.evaluate import evaluate_drift
from governance.drift.tasks import sweep_drift

pytestmark = pytest.mark.django_db


def open_drift():
    return sorted(
        Finding.objects.filter(source="drift", status=FindingStatus.OPEN).values_list("feature_key", "rule_id")
    )


def test_a_sweep_judges_every_registered_feature_and_every_observed_key(approve_feature, observe_edge):
    approve_feature("reco-locale")
    approve_feature("reco-history", identities=("reco-writer",))
    observe_edge("reco-locale", signal="locale")
    observe_edge("reco-locale", signal="language")
    observe_edge("reco-history", identity="reco-writer", destination="partner-exchange")
    observe_edge("secret-reco", identity="legacy-key")

    result = evaluate_drift(None)

    assert open_drift() == [
        ("reco-history", "undeclared-destination"),
        ("reco-locale", "undeclared-signal"),
        ("secret-reco", "shadow-feature"),
    ]
    assert result.features == 3 and result.opened == 3


def test_a_sweep_resolves_drift_of_keys_no_longer_observed(drift_catalogue, observe_edge):
    observe_edge("secret-reco")
    evaluate_drift(None)

    result = evaluate_drift(None, now=timezone.now() + datetime.timedelta(days=40))

    assert open_drift() == []
    assert result.resolved == 1


def test_the_command_sweeps_and_reports_counts(approve_feature, observe_edge):
    approve_feature()
    observe_edge(signal="locale")
    observe_edge(signal="language")
    out = StringIO()

    call_command("drift_sweep", "--json", stdout=out)

    assert json.loads(out.getvalue()) == {"features": 1, "opened": 1, "resolved": 0, "kept": 0}


def test_the_command_says_what_it_did_in_words(approve_feature, observe_edge):
    approve_feature()
    out = StringIO()

    call_command("drift_sweep", stdout=out)

    assert "1 feature key(s): 0 opened, 0 resolved" in out.getvalue()


def test_the_periodic_task_returns_the_counts(approve_feature, observe_edge):
    approve_feature()
    observe_edge(signal="locale")
    observe_edge(signal="language")

    assert sweep_drift() == {"features": 1, "opened": 1, "resolved": 0, "kept": 0}


def sweep_queries() -> int:
    with CaptureQueriesContext(connection) as queries:
        evaluate_drift(None)
    return len(queries)


def test_a_sweep_costs_the_same_queries_for_5_and_for_50_features():
    build_drift_fixture(features=5, signals_per_feature=4, edges=5 * 12)
    evaluate_drift(None)  # opens the fixture's drift; now nothing changes between runs
    small = sweep_queries()

    build_drift_fixture(features=50, signals_per_feature=4, edges=50 * 12, prefix="bench2")
    evaluate_drift(None)
    large = sweep_queries()

    assert large == small
    assert small <= 15


def test_the_benchmark_fixture_refuses_to_be_built_twice():
    build_drift_fixture(features=2, signals_per_feature=2, edges=10)

    with pytest.raises(FixtureExists):
        build_drift_fixture(features=2, signals_per_feature=2, edges=10)


def test_the_benchmark_fixture_drifts_as_documented():
    fixture = build_drift_fixture(features=20, signals_per_feature=5, edges=20 * 15)

    result = evaluate_drift(None)

    assert fixture.edges == 300 and fixture.drifting_features == 8
    kinds = dict.fromkeys(rule for _, rule in open_drift())
    assert set(kinds) >= {
        "undeclared-signal",
        "undeclared-destination",
        "undeclared-identity",
        "credential-ttl-exceeded",
        "shadow-feature",
        "identity-shared",
    }
    assert result.opened == len(open_drift())
