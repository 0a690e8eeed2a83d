"""`parse_declaration`: the loose dict / file shape becomes a `Declaration`, or every problem at once."""

import pytest

from features.choices import AccessMode, DestinationKind, HighTrustDomain, SignalOrigin
from features.declaration import (
    DeclarationInvalid,
    DestinationDeclaration,
    IdentityDeclaration,
    SignalDeclaration,
    parse_declaration,
)
from tests.factories import complete_declaration


def errors_of(raw) -> dict[str, list[str]]:
    with pytest.raises(DeclarationInvalid) as refused:
        parse_declaration(raw)
    return refused.value.errors


def raw_declaration(**overrides) -> dict:
    raw = complete_declaration().as_dict()
    raw.update(overrides)
    return raw


ROUND_TRIPS = {
    "complete": complete_declaration(),
    "empty": complete_declaration(
        explanation="",
        purpose="",
        consent_basis="",
        retention_days=None,
        opt_out="",
        signals=(),
        identities=(),
        destinations=(),
    ),
    "tier-3-high-trust": complete_declaration(
        requested_tier=3,
        consent_basis="consent",
        high_trust_domain=HighTrustDomain.HEALTHCARE,
        necessity_justification="Clinicians need the patient's recent readings to triage.",
        signals=(
            SignalDeclaration("locale", SignalOrigin.COLLECTED, "To pick the language.", 30),
            SignalDeclaration("health_interest", SignalOrigin.INFERRED, "To rank care articles.", 14),
        ),
        identities=(
            IdentityDeclaration("reco-reader", ("profile:read", "orders:read"), AccessMode.READ),
            IdentityDeclaration("reco-writer", ("segments:write",), AccessMode.WRITE),
        ),
        destinations=(
            DestinationDeclaration("reco-ranker", DestinationKind.RANKING, ("locale", "health_interest"), True),
            DestinationDeclaration("partner-crm", DestinationKind.THIRD_PARTY, ("locale",), False),
        ),
    ),
}


@pytest.mark.parametrize("declaration", ROUND_TRIPS.values(), ids=ROUND_TRIPS.keys())
def test_parsing_the_file_shape_of_a_declaration_gives_it_back(declaration):
    assert parse_declaration(declaration.as_dict()) == declaration


def test_missing_fields_take_their_defaults():
    declaration = parse_declaration({})
    assert declaration.requested_tier == 1
    assert declaration.signals == declaration.identities == declaration.destinations == ()


def test_text_is_stripped():
    assert parse_declaration({"purpose": "  Rank by language.  "}).purpose == "Rank by language."


@pytest.mark.parametrize(
    "scopes", ["orders:read, profile:read", "orders:read profile:read", " orders:read,,profile:read "]
)
def test_scopes_given_as_one_string_are_split_on_commas_and_spaces(scopes):
    raw = raw_declaration(identities=[{"identity": "reco-reader", "scopes": scopes}])
    assert parse_declaration(raw).identities[0].scopes == ("orders:read", "profile:read")


def test_destination_signals_given_as_one_string_are_split():
    raw = raw_declaration(destinations=[{"name": "reco-ranker", "kind": "ranking", "signals": "locale, region"}])
    assert parse_declaration(raw).destinations[0].signals == ("locale", "region")


@pytest.mark.parametrize("value", ["yes", "true", "on", "1", True])
def test_controls_before_accepts_form_truthy_values(value):
    raw = raw_declaration(
        destinations=[{"name": "reco-ranker", "kind": "ranking", "signals": ["locale"], "controls_before": value}]
    )
    assert parse_declaration(raw).destinations[0].controls_before is True


def test_tier_given_as_a_string_is_read_as_a_number():
    assert parse_declaration(raw_declaration(requested_tier="2")).requested_tier == 2


def test_retention_that_is_not_a_number_is_refused_at_its_path():
    assert errors_of(raw_declaration(retention_days="abc")) == {
        "retention_days": ["Enter the retention period as a whole number of days."]
    }


def test_signal_retention_that_is_not_a_number_is_refused_at_its_path():
    raw = raw_declaration(signals=[{"signal": "locale", "justification": "Language.", "retention_days": "abc"}])
    assert errors_of(raw) == {"signals.0.retention_days": ["Enter the retention period as a whole number of days."]}


@pytest.mark.parametrize("days", [0, "-5"])
def test_retention_below_one_day_is_refused(days):
    assert errors_of(raw_declaration(retention_days=days)) == {
        "retention_days": ["The retention period must be at least one day."]
    }


@pytest.mark.parametrize("tier", [7, -1, "high", None])
def test_tier_outside_zero_to_three_is_refused(tier):
    assert errors_of(raw_declaration(requested_tier=tier)) == {"requested_tier": ["Choose a tier from 0 to 3."]}


def test_unknown_consent_basis_is_refused_with_the_allowed_values():
    (message,) = errors_of(raw_declaration(consent_basis="vibes"))["consent_basis"]
    assert "vibes" in message
    assert "consent, contract, legitimate_interest, legal_obligation" in message


def test_unknown_signal_origin_is_refused_at_its_path():
    raw = raw_declaration(signals=[{"signal": "locale", "origin": "guessed", "retention_days": 30}])
    assert list(errors_of(raw)) == ["signals.0.origin"]


def test_unknown_access_mode_is_refused_at_its_path():
    raw = raw_declaration(identities=[{"identity": "reco-reader", "scopes": ["profile:read"], "access": "admin"}])
    assert list(errors_of(raw)) == ["identities.0.access"]


@pytest.mark.parametrize("key", ["signals", "identities", "destinations"])
@pytest.mark.parametrize("rows", ["locale", {"signal": "locale"}, ["locale"]], ids=["string", "object", "strings"])
def test_rows_that_are_not_a_list_of_entries_are_refused(key, rows):
    assert errors_of(raw_declaration(**{key: rows})) == {key: ["Give a list of entries."]}


def test_text_field_given_a_number_is_refused():
    assert errors_of(raw_declaration(purpose=42)) == {"purpose": ["Enter text."]}


def test_scopes_given_as_a_number_are_refused():
    raw = raw_declaration(identities=[{"identity": "reco-reader", "scopes": 7}])
    assert errors_of(raw) == {"identities.0.scopes": ["Give the scopes as a list of strings."]}


def test_a_declaration_that_is_not_an_object_is_refused():
    assert errors_of(["explanation"]) == {"": ["A declaration is an object with named fields."]}


def test_several_errors_are_reported_at_once():
    raw = raw_declaration(
        requested_tier=7,
        consent_basis="vibes",
        retention_days="abc",
        signals=[{"signal": "locale", "origin": "guessed", "retention_days": "soon"}],
        identities="reco-reader",
        destinations=[{"name": "reco-ranker", "kind": "spreadsheet", "signals": ["locale"]}],
    )
    assert set(errors_of(raw)) == {
        "requested_tier",
        "consent_basis",
        "retention_days",
        "signals.0.origin",
        "signals.0.retention_days",
        "identities",
        "destinations.0.kind",
    }
