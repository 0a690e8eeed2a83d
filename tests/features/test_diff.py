"""`declaration_diff`: what a reviewer or auditor sees changed between two declarations."""

from dataclasses import replace

from features.choices import DestinationKind
from features.declaration import DestinationDeclaration, IdentityDeclaration, SignalDeclaration
from features.diff import FieldChange, RowChange, declaration_diff
from tests.factories import complete_declaration

BEFORE = complete_declaration()
HISTORY = SignalDeclaration("purchase_history", "collected", "To suggest related products.", 90)


def test_identical_declarations_have_an_empty_diff():
    diff = declaration_diff(BEFORE, complete_declaration())
    assert diff.is_empty
    assert (diff.fields, diff.signals, diff.identities, diff.destinations) == ([], [], [], [])


def test_changed_explanation_shows_before_and_after():
    after = replace(BEFORE, explanation="We order products by your region.")
    assert declaration_diff(BEFORE, after).fields == [
        FieldChange("Explanation", BEFORE.explanation, "We order products by your region.")
    ]


def test_changed_tier_shows_the_tier_labels():
    after = replace(BEFORE, requested_tier=2)
    assert declaration_diff(BEFORE, after).fields == [
        FieldChange("Requested tier", "Tier 1 · basic", "Tier 2 · enriched")
    ]


def test_changed_consent_basis_shows_its_labels():
    after = replace(BEFORE, consent_basis="consent")
    assert declaration_diff(BEFORE, after).fields == [
        FieldChange("Consent basis", "Contract", "Consent (explicit opt-in)")
    ]


def test_cleared_field_shows_a_dash():
    after = replace(BEFORE, retention_days=None)
    assert declaration_diff(BEFORE, after).fields == [FieldChange("Retention (days)", "30", "—")]


def test_only_changed_fields_are_listed():
    after = replace(BEFORE, purpose="Rank the home page.", opt_out="Settings › off.")
    labels = [change.label for change in declaration_diff(BEFORE, after).fields]
    assert labels == ["Purpose", "Opt-out and switch-off"]


def test_added_signal_is_listed_with_its_origin_and_retention():
    after = replace(BEFORE, signals=(*BEFORE.signals, HISTORY))
    assert declaration_diff(BEFORE, after).signals == [
        RowChange("purchase_history", "added", ("collected", "kept 90 days"))
    ]


def test_removed_signal_is_listed():
    after = replace(BEFORE, signals=(), destinations=())
    assert declaration_diff(BEFORE, after).signals == [RowChange("locale", "removed")]


def test_changed_signal_retention_is_listed():
    (locale,) = BEFORE.signals
    after = replace(BEFORE, signals=(replace(locale, retention_days=60),))
    assert declaration_diff(BEFORE, after).signals == [RowChange("locale", "changed", ("kept 60 days",))]


def test_signal_becoming_inferred_is_listed():
    (locale,) = BEFORE.signals
    after = replace(BEFORE, signals=(replace(locale, origin="inferred"),))
    assert declaration_diff(BEFORE, after).signals == [RowChange("locale", "changed", ("inferred",))]


def test_changed_signal_justification_is_listed():
    (locale,) = BEFORE.signals
    after = replace(BEFORE, signals=(replace(locale, justification="To translate."),))
    assert declaration_diff(BEFORE, after).signals == [RowChange("locale", "changed", ("why: To translate.",))]


def test_reordered_signals_are_not_a_change():
    before = replace(BEFORE, signals=(*BEFORE.signals, HISTORY))
    after = replace(BEFORE, signals=(HISTORY, *BEFORE.signals))
    assert declaration_diff(before, after).is_empty


def test_added_identity_scope_is_listed():
    (reader,) = BEFORE.identities
    after = replace(BEFORE, identities=(replace(reader, scopes=("profile:read", "orders:read")),))
    assert declaration_diff(BEFORE, after).identities == [RowChange("reco-reader", "changed", ("+ scope orders:read",))]


def test_removed_identity_scope_is_listed():
    before = replace(BEFORE, identities=(IdentityDeclaration("reco-reader", ("profile:read", "orders:read")),))
    assert declaration_diff(before, BEFORE).identities == [
        RowChange("reco-reader", "changed", ("− scope orders:read",))
    ]


def test_identity_gaining_write_access_is_listed():
    (reader,) = BEFORE.identities
    after = replace(BEFORE, identities=(replace(reader, access="write"),))
    assert declaration_diff(BEFORE, after).identities == [RowChange("reco-reader", "changed", ("write access",))]


def test_added_destination_signal_is_listed():
    before = replace(BEFORE, signals=(*BEFORE.signals, HISTORY))
    (ranker,) = BEFORE.destinations
    after = replace(before, destinations=(replace(ranker, signals=("locale", "purchase_history")),))
    assert declaration_diff(before, after).destinations == [
        RowChange("reco-ranker", "changed", ("+ purchase_history",))
    ]


def test_removed_destination_signal_is_listed():
    before = replace(
        BEFORE,
        signals=(*BEFORE.signals, HISTORY),
        destinations=(
            DestinationDeclaration("reco-ranker", DestinationKind.RANKING, ("locale", "purchase_history"), True),
        ),
    )
    after = replace(before, destinations=BEFORE.destinations)
    assert declaration_diff(before, after).destinations == [
        RowChange("reco-ranker", "changed", ("− purchase_history",))
    ]


def test_controls_moving_after_the_destination_is_listed():
    (ranker,) = BEFORE.destinations
    after = replace(BEFORE, destinations=(replace(ranker, controls_before=False),))
    assert declaration_diff(BEFORE, after).destinations == [
        RowChange("reco-ranker", "changed", ("controls applied after",))
    ]


def test_controls_moving_before_the_destination_is_listed():
    (ranker,) = BEFORE.destinations
    before = replace(BEFORE, destinations=(replace(ranker, controls_before=False),))
    assert declaration_diff(before, BEFORE).destinations == [
        RowChange("reco-ranker", "changed", ("consent and retention applied before",))
    ]


def test_added_destination_is_listed_with_its_kind_signals_and_controls():
    partner = DestinationDeclaration("partner-crm", DestinationKind.THIRD_PARTY, ("locale",), False)
    after = replace(BEFORE, destinations=(*BEFORE.destinations, partner))
    assert declaration_diff(BEFORE, after).destinations == [
        RowChange("partner-crm", "added", ("third party", "+ locale", "controls applied after"))
    ]


def test_diff_from_nothing_lists_every_field_that_has_a_value_as_added():
    diff = declaration_diff(None, BEFORE)
    assert [(change.label, change.before) for change in diff.fields] == [
        ("Explanation", "—"),
        ("Purpose", "—"),
        ("Requested tier", "—"),
        ("Consent basis", "—"),
        ("Consent mechanism", "—"),
        ("Retention (days)", "—"),
        ("Opt-out and switch-off", "—"),
    ]
    assert diff.fields[2].after == "Tier 1 · basic"


def test_diff_from_nothing_lists_every_row_as_added():
    diff = declaration_diff(None, BEFORE)
    assert [(row.key, row.change) for row in diff.signals + diff.identities + diff.destinations] == [
        ("locale", "added"),
        ("reco-reader", "added"),
        ("reco-ranker", "added"),
    ]


def test_diff_from_nothing_shows_a_tier_0_declaration_as_added():
    after = replace(BEFORE, requested_tier=0)
    labels = {change.label: change.after for change in declaration_diff(None, after).fields}
    assert labels["Requested tier"] == "Tier 0 · none"


def test_changes_are_sorted_added_then_changed_then_removed():
    (locale,) = BEFORE.signals
    before = replace(BEFORE, signals=(locale, SignalDeclaration("region", "collected", "Region.", 30)))
    after = replace(BEFORE, signals=(replace(locale, retention_days=7), HISTORY))
    assert [(row.change, row.key) for row in declaration_diff(before, after).signals] == [
        ("added", "purchase_history"),
        ("changed", "locale"),
        ("removed", "region"),
    ]
