"""Drift evaluation: each drift kind fires when its path is observed and stays silent when the approved
version covers it; findings update in place, resolve themselves, and keep a reviewer's acceptance."""

import datetime

import pytest
from django.utils import timezone

from features.models import Finding, FindingStatus
from governance.audit.models import AuditEvent
from governance.drift.evaluate import drift_kinds, evaluate_drift
from governance.policy.severity import Severity
from tests.factories import FeatureFactory

pytestmark = pytest.mark.django_db

KEY = "reco-locale"


def drift(key=KEY, rule_id=None, **filters):
    findings = Finding.objects.filter(source="drift", feature_key=key, **filters)
    if rule_id:
        findings = findings.filter(rule_id=rule_id)
    return list(findings.order_by("rule_id", "path"))


def rules(key=KEY, status=FindingStatus.OPEN):
    return sorted((f.rule_id, f.path) for f in drift(key, status=status))


def only(key=KEY, rule_id=None):
    found = drift(key, rule_id)
    assert len(found) == 1, found
    return found[0]


# --- a feature that does what it declared ------------------------------------------------------------------


def test_a_feature_that_does_what_it_declared_has_no_drift(approve_feature, observe_edge):
    approve_feature(signals=("locale", "language"), destinations={"reco-ranker": ("ranking", ("locale", "language"))})
    observe_edge(signal="locale")
    observe_edge(signal="language")
    observe_edge(signal="locale", destination="response")

    result = evaluate_drift([KEY])

    assert drift() == []
    assert result.as_dict() == {"features": 1, "opened": 0, "resolved": 0, "kept": 0}


# --- undeclared-signal ---------------------------------------------------------------------------------------


def test_an_undeclared_signal_is_a_warning(approve_feature, observe_edge):
    approve_feature(tier=2)
    observe_edge(signal="purchase_history", count=42)

    evaluate_drift([KEY])

    finding = only(rule_id="undeclared-signal")
    assert finding.severity == Severity.WARNING
    assert finding.path == "signal purchase_history"
    assert "purchase_history" in finding.message and "42 observations" in finding.message
    assert finding.feature.key == KEY and finding.registration is None


def test_an_undeclared_high_or_special_signal_is_critical(approve_feature, observe_edge):
    approve_feature(tier=3)
    observe_edge(signal="precise_location")
    observe_edge(signal="health_condition")

    evaluate_drift([KEY])

    assert {f.path: f.severity for f in drift(rule_id="undeclared-signal")} == {
        "signal health_condition": Severity.CRITICAL,
        "signal precise_location": Severity.CRITICAL,
    }


def test_an_undeclared_signal_reaching_a_third_party_is_critical(approve_feature, observe_edge):
    approve_feature(tier=3, destinations={"partner-exchange": ("third_party", ("locale",))})
    observe_edge(signal="language", destination="partner-exchange")

    evaluate_drift([KEY])

    assert only(rule_id="undeclared-signal").severity == Severity.CRITICAL


def test_a_declared_signal_is_not_undeclared(approve_feature, observe_edge):
    approve_feature()
    observe_edge(signal="locale")

    evaluate_drift([KEY])

    assert drift(rule_id="undeclared-signal") == []


# --- undeclared-identity ------------------------------------------------------------------------------------


def test_an_undeclared_identity_is_critical(approve_feature, observe_edge):
    approve_feature()
    observe_edge(identity="reco-writer")

    evaluate_drift([KEY])

    finding = only(rule_id="undeclared-identity")
    assert finding.severity == Severity.CRITICAL
    assert finding.path == "identity reco-writer"


def test_an_identity_missing_from_the_inventory_is_undeclared_too(approve_feature, observe_edge):
    approve_feature()
    observe_edge(identity="mystery-bot")

    evaluate_drift([KEY])

    assert "not in the identity inventory" in only(rule_id="undeclared-identity").message


def test_a_declared_identity_is_not_undeclared(approve_feature, observe_edge):
    approve_feature(identities=("reco-reader", "reco-writer"))
    observe_edge(identity="reco-writer")

    evaluate_drift([KEY])

    assert drift(rule_id="undeclared-identity") == []


# --- undeclared-destination ------------------------------------------------------------------------------


def test_a_signal_reaching_a_destination_not_declared_for_it_is_a_warning(approve_feature, observe_edge):
    approve_feature(
        signals=("locale", "language"),
        destinations={"reco-ranker": ("ranking", ("locale",)), "analytics": ("analytics", ("language",))},
    )
    observe_edge(signal="locale", destination="analytics")

    evaluate_drift([KEY])

    finding = only(rule_id="undeclared-destination")
    assert finding.severity == Severity.WARNING
    assert finding.path == "signal locale → analytics"


def test_a_signal_reaching_a_third_party_not_declared_for_it_is_critical(approve_feature, observe_edge):
    approve_feature(
        tier=3,
        signals=("locale", "language"),
        destinations={
            "reco-ranker": ("ranking", ("locale", "language")),
            "partner-exchange": ("third_party", ("language",)),
        },
    )
    observe_edge(signal="locale", destination="partner-exchange")

    evaluate_drift([KEY])

    finding = only(rule_id="undeclared-destination")
    assert finding.severity == Severity.CRITICAL
    assert "third party" in finding.message


def test_a_destination_another_feature_declares_as_third_party_is_critical(approve_feature, observe_edge):
    approve_feature("partner-feed", tier=3, destinations={"partner-exchange": ("third_party", ("locale",))})
    approve_feature()
    observe_edge(signal="locale", destination="partner-exchange")

    evaluate_drift([KEY])

    assert only(rule_id="undeclared-destination").severity == Severity.CRITICAL


def test_a_declared_route_is_not_drift(approve_feature, observe_edge):
    approve_feature()
    observe_edge(signal="locale", destination="reco-ranker")

    evaluate_drift([KEY])

    assert drift(rule_id="undeclared-destination") == []


def test_a_declared_signal_may_reach_the_response_without_a_destination_row(approve_feature, observe_edge):
    approve_feature(destinations={})
    observe_edge(signal="locale", destination="response")

    evaluate_drift([KEY])

    assert drift() == []


# --- above-approved-tier ------------------------------------------------------------------------------------


def test_a_signal_above_the_approved_tier_is_critical(approve_feature, observe_edge):
    approve_feature(
        tier=1,
        signals=("locale", "purchase_history"),
        destinations={"reco-ranker": ("ranking", ("locale", "purchase_history"))},
    )
    observe_edge(signal="purchase_history")

    evaluate_drift([KEY])

    finding = only(rule_id="above-approved-tier")
    assert finding.severity == Severity.CRITICAL
    assert "tier 1" in finding.message


def test_any_personal_signal_is_above_tier_0(approve_feature, observe_edge):
    approve_feature(tier=0, signals=(), destinations={})
    observe_edge(signal="locale")

    evaluate_drift([KEY])

    assert only(rule_id="above-approved-tier").path == "signal locale"


def test_a_signal_within_the_approved_tier_is_not_above_it(approve_feature, observe_edge):
    approve_feature(
        tier=2,
        signals=("locale", "purchase_history"),
        destinations={"reco-ranker": ("ranking", ("locale", "purchase_history"))},
    )
    observe_edge(signal="purchase_history")

    evaluate_drift([KEY])

    assert drift(rule_id="above-approved-tier") == []


# --- shadow-feature ------------------------------------------------------------------------------------------


def test_observations_for_an_unregistered_key_are_a_shadow_feature(drift_catalogue, observe_edge):
    observe_edge("secret-reco", signal="purchase_history", count=7)

    evaluate_drift(["secret-reco"])

    finding = only("secret-reco", "shadow-feature")
    assert finding.severity == Severity.CRITICAL
    assert finding.feature is None
    assert "not registered" in finding.message and "purchase_history" in finding.message


def test_a_registered_feature_never_approved_is_a_shadow_feature(team, drift_catalogue, observe_edge):
    feature = FeatureFactory(key=KEY, team=team)
    observe_edge()

    evaluate_drift([KEY])

    finding = only(rule_id="shadow-feature")
    assert finding.feature == feature
    assert "no approved version" in finding.message


def test_a_retired_feature_still_observed_is_a_shadow_feature(approve_feature, observe_edge):
    feature = approve_feature()
    feature.status = "retired"
    feature.save()
    observe_edge()

    evaluate_drift([KEY])

    assert "is retired" in only(rule_id="shadow-feature").message


def test_an_approved_feature_is_not_a_shadow_feature(approve_feature, observe_edge):
    approve_feature()
    observe_edge()

    evaluate_drift([KEY])

    assert drift(rule_id="shadow-feature") == []


def test_a_shadow_feature_gets_its_feature_once_registered(team, drift_catalogue, observe_edge):
    observe_edge()
    evaluate_drift([KEY])
    feature = FeatureFactory(key=KEY, team=team)

    evaluate_drift([KEY])

    assert only(rule_id="shadow-feature").feature == feature


# --- identity-shared -----------------------------------------------------------------------------------------


def test_an_identity_observed_for_two_features_is_one_warning_for_each(approve_feature, observe_edge):
    approve_feature()
    approve_feature("reco-history")
    observe_edge(KEY)
    observe_edge("reco-history")

    evaluate_drift(None)

    for key, other in ((KEY, "reco-history"), ("reco-history", KEY)):
        finding = only(key, "identity-shared")
        assert finding.severity == Severity.WARNING
        assert other in finding.message


def test_evaluating_one_feature_also_flags_the_feature_it_shares_an_identity_with(approve_feature, observe_edge):
    approve_feature()
    approve_feature("reco-history")
    observe_edge("reco-history")
    evaluate_drift(["reco-history"])
    observe_edge(KEY)

    evaluate_drift([KEY])

    assert only("reco-history", "identity-shared")
    assert only(KEY, "identity-shared")


def test_features_with_their_own_identities_share_nothing(approve_feature, observe_edge):
    approve_feature()
    approve_feature("reco-history", identities=("reco-writer",))
    observe_edge(KEY)
    observe_edge("reco-history", identity="reco-writer")

    evaluate_drift(None)

    assert drift(rule_id="identity-shared") == [] and drift("reco-history", "identity-shared") == []


# --- credential-ttl-exceeded --------------------------------------------------------------------------------


def test_a_credential_living_longer_than_the_inventory_allows_is_a_warning(approve_feature, observe_edge):
    approve_feature()
    observe_edge(ttl_seconds=40 * 86_400)  # reco-reader: 30 days at most

    evaluate_drift([KEY])

    finding = only(rule_id="credential-ttl-exceeded")
    assert finding.severity == Severity.WARNING
    assert "40.0 days" in finding.message and "30 days" in finding.message


def test_a_credential_living_longer_than_policy_allows_is_a_warning(approve_feature, observe_edge, settings):
    settings.GOVERNANCE = {**settings.GOVERNANCE, "MAX_CREDENTIAL_LIFETIME_DAYS": 90}
    approve_feature(identities=("legacy-key",))
    observe_edge(identity="legacy-key", ttl_seconds=120 * 86_400)  # the inventory says 365 days

    evaluate_drift([KEY])

    assert "policy allows 90 days" in only(rule_id="credential-ttl-exceeded").message


def test_a_short_lived_credential_is_fine(approve_feature, observe_edge):
    approve_feature()
    observe_edge(ttl_seconds=3600)

    evaluate_drift([KEY])

    assert drift(rule_id="credential-ttl-exceeded") == []


# --- unused-declaration --------------------------------------------------------------------------------------


def test_a_declared_signal_unused_for_the_unused_window_is_info(approve_feature, observe_edge):
    approve_feature(
        tier=2,
        signals=("locale", "purchase_history"),
        destinations={"reco-ranker": ("ranking", ("locale", "purchase_history"))},
        approved_days_ago=60,
    )
    observe_edge(signal="locale")
    observe_edge(signal="purchase_history", days_ago=45)

    evaluate_drift([KEY])

    finding = only(rule_id="unused-declaration")
    assert finding.severity == Severity.INFO
    assert finding.path == "signal purchase_history"


def test_a_recent_approval_has_no_unused_declarations_yet(approve_feature, observe_edge):
    approve_feature(
        tier=2,
        signals=("locale", "purchase_history"),
        destinations={"reco-ranker": ("ranking", ("locale", "purchase_history"))},
        approved_days_ago=10,
    )
    observe_edge(signal="locale")

    evaluate_drift([KEY])

    assert drift(rule_id="unused-declaration") == []


def test_a_signal_observed_in_the_window_is_used(approve_feature, observe_edge):
    approve_feature(
        tier=2,
        signals=("locale", "purchase_history"),
        destinations={"reco-ranker": ("ranking", ("locale", "purchase_history"))},
    )
    observe_edge(signal="locale")
    observe_edge(signal="purchase_history", days_ago=20)  # stale for drift, but used within 30 days

    evaluate_drift([KEY])

    assert drift(rule_id="unused-declaration") == []


def test_a_feature_that_reports_nothing_has_no_unused_declarations(approve_feature):
    approve_feature()

    evaluate_drift([KEY])

    assert drift() == []


# --- only recent paths count; findings resolve themselves ------------------------------------------------


def test_a_path_not_seen_within_the_stale_window_is_not_drift(approve_feature, observe_edge):
    approve_feature()
    observe_edge(signal="language", days_ago=15)  # DRIFT_STALE_DAYS = 14

    evaluate_drift([KEY])

    assert drift(rule_id="undeclared-signal") == []


def test_drift_resolves_when_the_path_is_not_seen_for_the_stale_window(approve_feature, observe_edge):
    approve_feature()
    observe_edge(signal="language")
    evaluate_drift([KEY])
    assert only(rule_id="undeclared-signal").status == FindingStatus.OPEN

    result = evaluate_drift([KEY], now=timezone.now() + datetime.timedelta(days=15))

    finding = only(rule_id="undeclared-signal")
    assert finding.status == FindingStatus.RESOLVED and finding.resolved_at is not None
    assert result.resolved == 1


def test_drift_resolves_when_a_newly_approved_version_covers_the_path(approve_feature, observe_edge):
    feature = approve_feature()
    observe_edge(signal="language")
    observe_edge(identity="reco-writer")
    evaluate_drift([KEY])
    assert rules() == [("undeclared-identity", "identity reco-writer"), ("undeclared-signal", "signal language")]

    approve_feature(
        feature=feature,
        signals=("locale", "language"),
        identities=("reco-reader", "reco-writer"),
        destinations={"reco-ranker": ("ranking", ("locale", "language"))},
    )
    result = evaluate_drift([KEY])

    assert rules() == []
    assert result.resolved == 2


def test_a_shadow_feature_resolves_once_approved(team, approve_feature, observe_edge):
    feature = FeatureFactory(key=KEY, team=team)
    observe_edge()
    evaluate_drift([KEY])

    approve_feature(feature=feature)
    evaluate_drift([KEY])

    assert only(rule_id="shadow-feature").status == FindingStatus.RESOLVED


def test_a_resolved_finding_that_comes_back_is_reopened_not_duplicated(approve_feature, observe_edge):
    approve_feature()
    edge = observe_edge(signal="language")
    evaluate_drift([KEY])
    evaluate_drift([KEY], now=timezone.now() + datetime.timedelta(days=15))
    edge.last_seen = timezone.now() + datetime.timedelta(days=16)
    edge.save()

    result = evaluate_drift([KEY], now=timezone.now() + datetime.timedelta(days=16))

    finding = only(rule_id="undeclared-signal")
    assert finding.status == FindingStatus.OPEN and finding.resolved_at is None
    assert result.opened == 1


# --- acceptance, re-evaluation, audit -------------------------------------------------------------------------


def accept(finding, reviewer):
    from governance.reviews.services import finding_accept

    return finding_accept(
        actor=reviewer,
        finding=finding,
        reason="The team removes it next sprint.",
        until=timezone.localdate() + datetime.timedelta(days=30),
    )


def test_accepting_a_drift_finding_records_who_why_and_until_when(approve_feature, observe_edge, reviewer):
    approve_feature()
    observe_edge(signal="language")
    evaluate_drift([KEY])

    accepted = accept(only(rule_id="undeclared-signal"), reviewer)

    assert (accepted.status, accepted.accepted_by, accepted.accepted_reason) == (
        FindingStatus.ACCEPTED,
        reviewer,
        "The team removes it next sprint.",
    )
    event = AuditEvent.objects.get(action="finding.accepted")
    assert (event.actor, event.payload["until"]) == (reviewer, accepted.accepted_until.isoformat())


def test_an_accepted_finding_stays_accepted_while_it_holds(approve_feature, observe_edge, reviewer):
    approve_feature()
    observe_edge(signal="locale")
    edge = observe_edge(signal="language", count=5)
    evaluate_drift([KEY])
    accept(only(rule_id="undeclared-signal"), reviewer)
    edge.count = 500
    edge.save()

    result = evaluate_drift([KEY])

    finding = only(rule_id="undeclared-signal")
    assert finding.status == FindingStatus.ACCEPTED
    assert "500 observations" in finding.message
    assert result.kept == 1 and result.opened == 0


def test_an_accepted_finding_that_no_longer_holds_is_resolved_not_reopened(approve_feature, observe_edge, reviewer):
    approve_feature()
    observe_edge(signal="language")
    evaluate_drift([KEY])
    accept(only(rule_id="undeclared-signal"), reviewer)

    evaluate_drift([KEY], now=timezone.now() + datetime.timedelta(days=15))

    assert only(rule_id="undeclared-signal").status == FindingStatus.RESOLVED


def test_a_shadow_finding_can_be_accepted_by_a_reviewer(drift_catalogue, observe_edge, reviewer):
    observe_edge("secret-reco")
    evaluate_drift(["secret-reco"])

    accepted = accept(only("secret-reco", "shadow-feature"), reviewer)

    assert accepted.status == FindingStatus.ACCEPTED


def test_re_evaluation_updates_instead_of_duplicating(approve_feature, observe_edge):
    approve_feature()
    observe_edge(signal="language")
    observe_edge(identity="reco-writer")
    first = evaluate_drift([KEY])
    ids = sorted(f.pk for f in drift())

    second = evaluate_drift([KEY])
    third = evaluate_drift(None)

    assert sorted(f.pk for f in drift()) == ids
    assert (first.opened, second.opened, third.opened) == (2, 0, 0)
    assert (second.kept, third.kept) == (2, 2)


def test_findings_carry_their_framework_references(approve_feature, observe_edge):
    approve_feature()
    observe_edge(identity="reco-writer", ttl_seconds=400 * 86_400)

    evaluate_drift([KEY])

    assert any("NHI5" in ref for ref in only(rule_id="undeclared-identity").references)
    assert any("NHI7" in ref for ref in only(rule_id="credential-ttl-exceeded").references)


def test_every_drift_kind_has_references():
    kinds = drift_kinds()

    assert set(kinds) == {
        "undeclared-signal",
        "undeclared-identity",
        "undeclared-destination",
        "above-approved-tier",
        "shadow-feature",
        "identity-shared",
        "credential-ttl-exceeded",
        "unused-declaration",
    }
    assert all(kind.references for kind in kinds.values())


def test_one_audit_event_per_feature_and_run_lists_what_opened(approve_feature, observe_edge):
    feature = approve_feature()
    observe_edge(signal="language")
    observe_edge(identity="reco-writer")

    evaluate_drift([KEY])

    events = list(AuditEvent.objects.filter(action__startswith="drift."))
    assert [(e.action, e.actor_label, e.object_id) for e in events] == [
        ("drift.opened", "drift evaluation", str(feature.pk))
    ]
    assert events[0].payload["count"] == 2
    assert {item["rule_id"] for item in events[0].payload["findings"]} == {"undeclared-identity", "undeclared-signal"}


def test_resolutions_are_audited_once_per_feature_and_run(approve_feature, observe_edge):
    approve_feature()
    observe_edge(signal="language")
    observe_edge(identity="reco-writer")
    evaluate_drift([KEY])

    evaluate_drift([KEY], now=timezone.now() + datetime.timedelta(days=15))

    resolved = AuditEvent.objects.filter(action="drift.resolved")
    assert resolved.count() == 1 and resolved.get().payload["count"] == 2


def test_a_run_that_changes_nothing_writes_no_audit_event(approve_feature, observe_edge):
    approve_feature()
    observe_edge(signal="language")
    evaluate_drift([KEY])
    before = AuditEvent.objects.count()

    evaluate_drift([KEY])

    assert AuditEvent.objects.count() == before


def test_an_unregistered_key_is_audited_without_an_object(drift_catalogue, observe_edge):
    observe_edge("secret-reco")

    evaluate_drift(["secret-reco"])

    event = AuditEvent.objects.get(action="drift.opened")
    assert event.object_type == "" and event.payload["feature"] == "secret-reco"
