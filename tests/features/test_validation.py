"""The rules a declaration must satisfy before it is saved as a draft or submitted (features/validation.py).

The catalogue is plain data, so these tests need no database.
"""

import pytest

from features.choices import DestinationKind
from features.declaration import (
    DeclarationInvalid,
    DestinationDeclaration,
    IdentityDeclaration,
    SignalDeclaration,
)
from features.validation import Catalogue, validate_declaration
from tests.factories import complete_declaration

CATALOGUE = Catalogue(
    signals=frozenset({"locale", "purchase_history", "device_class"}),
    identities=frozenset({"reco-reader", "orders-reader"}),
)
LOCALE = SignalDeclaration("locale", "collected", "To pick the language.", 30)
HISTORY = SignalDeclaration("purchase_history", "collected", "To suggest related products.", 90)
READER = IdentityDeclaration("reco-reader", ("profile:read",), "read")
RANKER = DestinationDeclaration("reco-ranker", DestinationKind.RANKING, ("locale",), True)


def errors_of(declaration, *, complete=False) -> dict[str, list[str]]:
    with pytest.raises(DeclarationInvalid) as refused:
        validate_declaration(declaration, catalogue=CATALOGUE, complete=complete)
    return refused.value.errors


def explanation_error(explanation: str, *, complete: bool = False) -> list[str]:
    return errors_of(complete_declaration(explanation=explanation), complete=complete)["explanation"]


# --- a whole declaration ---------------------------------------------------------------------------


@pytest.mark.parametrize("complete", [False, True], ids=["draft", "submit"])
def test_complete_declaration_passes(complete):
    validate_declaration(complete_declaration(), catalogue=CATALOGUE, complete=complete)


def test_declaration_without_rows_passes_as_a_draft():
    validate_declaration(
        complete_declaration(signals=(), identities=(), destinations=()), catalogue=CATALOGUE, complete=False
    )


# --- explanation: exactly one short sentence -------------------------------------------------------


def test_empty_explanation_is_allowed_in_a_draft():
    validate_declaration(complete_declaration(explanation=""), catalogue=CATALOGUE, complete=False)


def test_empty_explanation_is_refused_on_submit():
    assert explanation_error("", complete=True) == ["Explain the feature in one sentence."]


@pytest.mark.parametrize(
    "explanation",
    [
        "We order products by your language. We also use your region.",
        "We order products by your language! We also use your region.",
        "Do you browse in French? We show French products first.",
        "We order products by your language.\nWe also use your region.",
    ],
    ids=["full-stop", "exclamation", "question", "newline"],
)
def test_explanation_of_two_sentences_is_refused(explanation):
    assert explanation_error(explanation) == [
        "Use exactly one sentence: a user should understand the feature from it alone."
    ]


def sentence_of(length: int) -> str:
    """One sentence of exactly `length` characters."""
    start = "We order products "
    return start + "a" * (length - len(start) - 1) + "."


def test_explanation_over_the_character_limit_is_refused(settings):
    limit = settings.GOVERNANCE["EXPLANATION_MAX_CHARS"]
    explanation = sentence_of(limit + 1)
    assert len(explanation) == limit + 1
    assert explanation_error(explanation) == [
        f"Keep the explanation to {limit} characters or fewer (it has {limit + 1})."
    ]


def test_explanation_at_the_character_limit_passes(settings):
    limit = settings.GOVERNANCE["EXPLANATION_MAX_CHARS"]
    explanation = sentence_of(limit)
    assert len(explanation) == limit
    validate_declaration(complete_declaration(explanation=explanation), catalogue=CATALOGUE, complete=True)


def test_explanation_limit_defaults_to_200_characters(settings):
    assert settings.GOVERNANCE["EXPLANATION_MAX_CHARS"] == 200


def test_explanation_limit_is_a_setting(settings):
    settings.GOVERNANCE = {**settings.GOVERNANCE, "EXPLANATION_MAX_CHARS": 40}
    explanation = "We order products by the language you browse in."
    assert len(explanation) > 40
    assert explanation_error(explanation) == [
        f"Keep the explanation to 40 characters or fewer (it has {len(explanation)})."
    ]


def test_explanation_without_a_final_full_stop_is_refused():
    assert explanation_error("We order products by the language you browse in") == [
        "End the explanation as a sentence, with a full stop."
    ]


def test_explanation_of_one_sentence_with_a_comma_passes():
    explanation = "We order products by the language you browse in, so you see them in your language first."
    validate_declaration(complete_declaration(explanation=explanation), catalogue=CATALOGUE, complete=True)


def test_explanation_problem_is_reported_in_a_draft_too():
    assert "explanation" in errors_of(complete_declaration(explanation="Two. Sentences."), complete=False)


# --- what submitting needs -------------------------------------------------------------------------


def test_narrative_fields_may_be_blank_in_a_draft():
    draft = complete_declaration(explanation="", purpose="", consent_basis="", retention_days=None, opt_out="")
    validate_declaration(draft, catalogue=CATALOGUE, complete=False)


@pytest.mark.parametrize(
    ("field", "blank", "message"),
    [
        ("explanation", "", "Explain the feature in one sentence."),
        ("purpose", "", "Describe the documented use case before submitting."),
        ("consent_basis", "", "Choose the consent basis before submitting."),
        ("retention_days", None, "Give a retention period (in days) before submitting."),
        ("opt_out", "", "Say how a user opts out and how the feature is switched off before submitting."),
    ],
)
def test_field_required_to_submit_is_refused_when_blank_on_submit(field, blank, message):
    assert errors_of(complete_declaration(**{field: blank}), complete=True) == {field: [message]}


@pytest.mark.parametrize("field", ["consent_mechanism", "necessity_justification"])
def test_field_not_required_to_submit_may_stay_blank_on_submit(field):
    validate_declaration(complete_declaration(**{field: ""}), catalogue=CATALOGUE, complete=True)


# --- declared signals ------------------------------------------------------------------------------


def test_signal_not_in_the_catalogue_is_refused():
    unknown = SignalDeclaration("heart_rate", "collected", "To pick calm music.", 30)
    errors = errors_of(complete_declaration(signals=(LOCALE, unknown)))
    assert errors == {"signals.1.signal": ["“heart_rate” is not in the signal catalogue."]}


def test_signal_row_without_a_signal_is_refused():
    blank = SignalDeclaration("", "collected", "To pick the language.", 30)
    errors = errors_of(complete_declaration(signals=(LOCALE, blank)))
    assert errors == {"signals.1.signal": ["Choose a signal, or remove this row."]}


def test_signal_declared_twice_is_refused():
    errors = errors_of(complete_declaration(signals=(LOCALE, HISTORY, LOCALE)))
    assert errors["signals.2.signal"] == ["locale is declared more than once; keep one row for it."]
    assert "signals.1.signal" not in errors


def test_signal_without_retention_is_refused():
    errors = errors_of(
        complete_declaration(signals=(SignalDeclaration("locale", "collected", "To pick the language.", None),))
    )
    assert errors == {"signals.0.retention_days": ["Say how many days this signal is kept."]}


def test_signal_without_justification_is_refused():
    errors = errors_of(complete_declaration(signals=(SignalDeclaration("locale", "collected", "", 30),)))
    assert errors == {"signals.0.justification": ["Say why the feature needs this signal."]}


def test_several_whole_signal_rows_pass():
    validate_declaration(complete_declaration(signals=(LOCALE, HISTORY)), catalogue=CATALOGUE, complete=True)


# --- declared service identities -------------------------------------------------------------------


def test_identity_not_in_the_inventory_is_refused():
    unknown = IdentityDeclaration("shadow-bot", ("profile:read",), "read")
    errors = errors_of(complete_declaration(identities=(READER, unknown)))
    assert errors == {"identities.1.identity": ["“shadow-bot” is not in the identity inventory."]}


def test_identity_row_without_an_identity_is_refused():
    errors = errors_of(complete_declaration(identities=(IdentityDeclaration("", ("profile:read",)),)))
    assert errors == {"identities.0.identity": ["Choose a service identity, or remove this row."]}


def test_identity_declared_twice_is_refused():
    again = IdentityDeclaration("reco-reader", ("orders:read",), "read")
    errors = errors_of(complete_declaration(identities=(READER, again)))
    assert errors["identities.1.identity"] == ["reco-reader is declared more than once; keep one row for it."]


def test_identity_without_scopes_is_refused():
    errors = errors_of(complete_declaration(identities=(IdentityDeclaration("reco-reader", ()),)))
    assert errors == {"identities.0.scopes": ["List the scopes this feature needs from the identity."]}


@pytest.mark.parametrize("scope", ["orders read", "orders;read", "profile:read!", "scope=all"])
def test_identity_with_a_malformed_scope_is_refused(scope):
    errors = errors_of(complete_declaration(identities=(IdentityDeclaration("reco-reader", ("profile:read", scope)),)))
    assert errors == {"identities.0.scopes": [f"Scopes are single words such as orders:read; check {scope!r}."]}


@pytest.mark.parametrize(
    "scope",
    ["orders:read", "profile.read", "https://www.googleapis.com/auth/userinfo.profile", "reco-api/read"],
)
def test_identity_with_well_formed_scopes_passes(scope):
    declaration = complete_declaration(identities=(IdentityDeclaration("reco-reader", (scope,)),))
    validate_declaration(declaration, catalogue=CATALOGUE, complete=True)


# --- declared destinations -------------------------------------------------------------------------


def test_destination_without_a_name_is_refused():
    errors = errors_of(
        complete_declaration(destinations=(DestinationDeclaration("", DestinationKind.RANKING, ("locale",)),))
    )
    assert errors == {"destinations.0.name": ["Name the downstream system, or remove this row."]}


@pytest.mark.parametrize("name", ["Reco Ranker", "reco ranker", "-ranker", "ranker!"])
def test_destination_with_a_name_that_is_not_an_identifier_is_refused(name):
    errors = errors_of(
        complete_declaration(destinations=(DestinationDeclaration(name, DestinationKind.RANKING, ("locale",)),))
    )
    assert errors == {"destinations.0.name": ["Use the system's identifier: lower-case letters, digits, . _ -"]}


def test_destination_declared_twice_is_refused():
    again = DestinationDeclaration("reco-ranker", DestinationKind.ANALYTICS, ("locale",))
    errors = errors_of(complete_declaration(destinations=(RANKER, again)))
    assert errors["destinations.1.name"] == ["reco-ranker is declared more than once; keep one row for it."]


def test_destination_without_a_kind_is_refused():
    errors = errors_of(complete_declaration(destinations=(DestinationDeclaration("reco-ranker", "", ("locale",)),)))
    assert errors == {"destinations.0.kind": ["Choose what kind of system this is."]}


def test_destination_without_signals_is_refused():
    errors = errors_of(
        complete_declaration(destinations=(DestinationDeclaration("reco-ranker", DestinationKind.RANKING, ()),))
    )
    assert errors == {"destinations.0.signals": ["Choose the signals that flow to this destination."]}


def test_destination_naming_an_undeclared_signal_is_refused_and_named():
    flows = DestinationDeclaration("reco-ranker", DestinationKind.RANKING, ("locale", "purchase_history"))
    errors = errors_of(complete_declaration(destinations=(flows,)))
    assert list(errors) == ["destinations.0.signals"]
    (message,) = errors["destinations.0.signals"]
    assert "purchase_history" in message
    assert "not declared" in message


# --- how problems are reported ---------------------------------------------------------------------


def test_every_problem_is_reported_at_once_keyed_by_path():
    declaration = complete_declaration(
        explanation="We rank by language. And by region.",
        purpose="",
        retention_days=None,
        signals=(LOCALE, SignalDeclaration("heart_rate", "collected", "", None)),
        identities=(IdentityDeclaration("shadow-bot", ()),),
        destinations=(DestinationDeclaration("Reco Ranker", "", ("region",)),),
    )
    errors = errors_of(declaration, complete=True)
    assert set(errors) == {
        "explanation",
        "purpose",
        "retention_days",
        "signals.1.signal",
        "signals.1.justification",
        "signals.1.retention_days",
        "identities.0.identity",
        "identities.0.scopes",
        "destinations.0.name",
        "destinations.0.kind",
        "destinations.0.signals",
    }


def test_refusal_message_lists_each_path():
    declaration = complete_declaration(purpose="", opt_out="")
    with pytest.raises(DeclarationInvalid) as refused:
        validate_declaration(declaration, catalogue=CATALOGUE, complete=True)
    assert "purpose:" in str(refused.value)
    assert "opt_out:" in str(refused.value)
