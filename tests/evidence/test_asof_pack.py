"""A pack as of a past date shows the registry as it stood then; without a date, as it stands now.

The history (tests/evidence/test_pack_support.py): v1 of reco-locale (locale) approved on 10 January with
`language` observed undeclared (a drift finding opens); v2 (locale + language) approved on 15 February
(the finding resolves); retired on 1 March. The earlier pack is as of 31 January.
"""

import datetime

import pytest

from tests.evidence.test_pack_support import (
    ACCEPTED_UNTIL,
    EARLIER,
    build,
    registry_with_history,
    use_temporary_signing_key,
)


@pytest.fixture(autouse=True)
def signing_key(settings, tmp_path):
    use_temporary_signing_key(settings, tmp_path)


@pytest.fixture
def history(owner, reviewer, team):
    return registry_with_history(owner, reviewer, team)


@pytest.fixture
def earlier(history):
    return build(as_of=EARLIER)


@pytest.fixture
def current(history):
    return build()


def signals_in_force(feature):
    version = next(v for v in feature["versions"] if v["in_force"])
    return [row["signal"] for row in version["declaration"]["signals"]]


def test_as_of_earlier_v1_is_in_force_and_v2_does_not_exist_yet(earlier):
    feature = earlier.feature("reco-locale")

    assert feature["version_in_force"] == 1
    assert [(v["version"], v["status"]) for v in feature["versions"]] == [(1, "approved")]


def test_as_of_earlier_the_old_signal_set_is_declared(earlier):
    assert signals_in_force(earlier.feature("reco-locale")) == ["locale"]


def test_as_of_earlier_the_drift_finding_is_open(earlier):
    [finding] = earlier.feature("reco-locale")["drift_findings"]

    assert (finding["rule_id"], finding["status"], finding["resolved_at"]) == ("undeclared-signal", "open", None)


def test_as_of_earlier_the_feature_is_approved_not_retired(earlier):
    feature = earlier.feature("reco-locale")

    assert (feature["status"], feature["retired_at"]) == ("approved", None)


def test_as_of_earlier_only_the_decisions_taken_by_then_count(earlier):
    decisions = [d for v in earlier.feature("reco-locale")["versions"] for d in v["decisions"]]

    assert [d["decided_at"] for d in decisions] == ["2026-01-10T09:00:00+00:00"]


def test_as_of_earlier_observations_count_only_up_to_that_day(earlier):
    counts = {edge["signal"]: edge["count"] for edge in earlier.feature("reco-locale")["observed_edges"]}

    assert counts == {"language": 5, "locale": 5}


def test_as_of_earlier_the_audit_chain_position_of_that_moment_is_stated(earlier, current):
    registry = earlier.json()

    assert registry["audit_chain_as_of"]["sequence"] < registry["audit_chain_head"]["sequence"]
    assert registry["audit_chain_head"] == current.json()["audit_chain_head"]


def test_without_as_of_v2_is_in_force_with_the_new_signal(current):
    feature = current.feature("reco-locale")

    assert feature["version_in_force"] == 2
    assert [(v["version"], v["status"]) for v in feature["versions"]] == [(1, "superseded"), (2, "approved")]
    assert signals_in_force(feature) == ["locale", "language"]


def test_without_as_of_the_finding_is_resolved_and_the_feature_retired(current):
    feature = current.feature("reco-locale")

    assert [f["status"] for f in feature["drift_findings"]] == ["resolved"]
    assert (feature["status"], feature["retired_at"]) == ("retired", "2026-03-01T09:00:00+00:00")


def test_as_of_a_day_before_anything_was_filed_the_pack_is_empty(history):
    registry = build(as_of=datetime.datetime(2026, 1, 4, tzinfo=datetime.UTC)).json()

    assert registry["features"] == []
    assert registry["summary"]["features"] == 0


def test_as_of_between_submission_and_approval_the_version_is_in_review(history):
    feature = build(as_of=datetime.datetime(2026, 2, 14, 12, tzinfo=datetime.UTC)).feature("reco-locale")

    assert feature["status"] == "in_review"
    assert [(v["version"], v["status"], v["in_force"]) for v in feature["versions"]] == [
        (1, "approved", True),
        (2, "submitted", False),
    ]
    assert feature["versions"][1]["approved_at"] is None


def test_an_acceptance_shows_from_its_event_until_its_date(history):
    """Accepted on 20 January until 30 January: open before, accepted in between, open again after."""

    def finding(day):
        moment = datetime.datetime(2026, 1, day, 12, tzinfo=datetime.UTC)
        return build(as_of=moment).feature("reco-locale")["drift_findings"][0]

    assert finding(19)["status"] == "open"
    assert (finding(22)["status"], finding(22)["accepted_until"], finding(22)["accepted_reason"]) == (
        "accepted",
        ACCEPTED_UNTIL.isoformat(),
        "Language rollout is under review.",
    )
    assert finding(31)["status"] == "open"


def test_a_shadow_features_drift_resolved_then_reopened_shows_resolved_in_between(db):
    """The reopened row forgets when it was resolved; the audit trail's drift events remember."""
    from governance.drift.evaluate import evaluate_drift
    from tests.evidence.test_pack_support import clock, observe

    seen, stale, back = (datetime.datetime(2026, 1, day, 9, tzinfo=datetime.UTC) for day in (2, 20, 28))
    for moment in (seen, stale, back):
        with clock(moment):
            if moment != stale:
                observe("shadow-thing", "locale", moment)
            evaluate_drift(["shadow-thing"], now=moment)

    def status(day):
        registry = build(as_of=datetime.datetime(2026, 1, day, 12, tzinfo=datetime.UTC)).json()
        [shadow] = registry["unregistered"]
        return [(f["rule_id"], f["status"]) for f in shadow["drift_findings"]]

    assert status(3) == [("shadow-feature", "open")]
    assert status(21) == [("shadow-feature", "resolved")]
    assert status(29) == [("shadow-feature", "open")]
