"""The declaration file format on the API: strict input, the `Declaration` it becomes, its JSON Schema.

The format is `Declaration.as_dict()`; `features/schema/declaration.schema.json` publishes it for teams
that keep declarations as code, and `DeclarationSerializer` enforces the same types, enumerations and
limits on every body that carries one (PUT draft, POST submit, POST features, POST check). What a value
*means* — a known signal, one sentence, a complete submission, no secrets — is judged afterwards by the
domain (`parse_declaration`, `validate_declaration`, the policy engine), exactly as for the browser.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from features.api.strict import Choice, Flag, Items, StrictSerializer, Text, WholeNumber
from features.choices import AccessMode, ConsentBasis, DestinationKind, HighTrustDomain, SignalOrigin, Tier
from features.declaration import (
    CONSENT_MECHANISM_MAX,
    DAYS_MAX,
    DESTINATION_NAME_MAX,
    IDENTITY_NAME_MAX,
    ROWS_MAX,
    SCOPE_MAX,
    SCOPES_MAX,
    SIGNAL_KEY_MAX,
    TEXT_MAX,
    Declaration,
    parse_declaration,
)

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema" / "declaration.schema.json"


def _text(max_length: int = TEXT_MAX, **kwargs) -> Text:
    """Optional text; null and "" both mean "not filled in yet" (a draft may leave it blank)."""
    return Text(max_length=max_length, required=False, allow_blank=True, allow_null=True, **kwargs)


def _choice(choices, **kwargs) -> Choice:
    kwargs.setdefault("allow_null", True)
    return Choice(choices=choices.choices, required=False, **kwargs)


def _rows(child, **kwargs) -> Items:
    """A list of rows or values; null means none (a YAML key left empty)."""
    return Items(child=child, required=False, allow_null=True, **kwargs)


def _retention(help_text: str) -> WholeNumber:
    return WholeNumber(min_value=1, max_value=DAYS_MAX, required=False, allow_null=True, help_text=help_text)


class DeclaredSignalSerializer(StrictSerializer):
    """A signal the feature uses."""

    signal = _text(SIGNAL_KEY_MAX, help_text="A key from the signal catalogue (GET /api/v1/signals).")
    origin = _choice(SignalOrigin, help_text="`inferred`: derived by the feature, which makes it new data.")
    justification = _text(help_text="Why the feature needs this signal.")
    retention_days = _retention("How many days this signal is kept.")


class DeclaredIdentitySerializer(StrictSerializer):
    """A service identity that fetches signals for the feature, with the scopes it needs."""

    identity = _text(IDENTITY_NAME_MAX, help_text="A name from the identity inventory (GET /api/v1/identities).")
    scopes = _rows(
        Text(max_length=SCOPE_MAX, allow_blank=True),
        max_length=SCOPES_MAX,
        help_text="The scopes this feature needs from the identity, e.g. `orders:read`.",
    )
    access = _choice(AccessMode)


class DeclaredDestinationSerializer(StrictSerializer):
    """A downstream system the feature's data reaches."""

    name = _text(DESTINATION_NAME_MAX, help_text="The downstream system's identifier, e.g. `reco-ranker`.")
    kind = _choice(DestinationKind, allow_blank=True)
    signals = _rows(
        Text(max_length=SIGNAL_KEY_MAX, allow_blank=True),
        max_length=ROWS_MAX,
        help_text="The declared signals that flow to this destination.",
    )
    controls_before = Flag(
        required=False, allow_null=True, help_text="Consent and retention rules are applied before the data reaches it."
    )


class DeclarationSerializer(StrictSerializer):
    """A registration's declaration: the declaration file format (`Declaration.as_dict()`)."""

    explanation = _text(help_text="One sentence a user would understand, without naming backend systems.")
    purpose = _text(help_text="The documented use case.")
    requested_tier = _choice(Tier, allow_null=False, help_text="0 none, 1 basic, 2 enriched, 3 high-trust (default 1).")
    consent_basis = _choice(ConsentBasis, allow_blank=True)
    consent_mechanism = _text(CONSENT_MECHANISM_MAX, help_text="Where consent is collected or documented.")
    retention_days = _retention("How many days the feature keeps what it derives.")
    opt_out = _text(help_text="How a user opts out, and how the feature is switched off.")
    high_trust_domain = _choice(HighTrustDomain, allow_blank=True)
    necessity_justification = _text(help_text="Required for tier 3: why the feature cannot work without it.")
    signals = _rows(DeclaredSignalSerializer(), max_length=ROWS_MAX)
    identities = _rows(DeclaredIdentitySerializer(), max_length=ROWS_MAX)
    destinations = _rows(DeclaredDestinationSerializer(), max_length=ROWS_MAX)


def declaration_from(data) -> Declaration:
    """The `Declaration` a request body states, or a 400 naming every field at fault by its path."""
    given = DeclarationSerializer(data=data)
    given.is_valid(raise_exception=True)
    return parse_declaration(given.validated_data)


@functools.cache
def declaration_schema() -> dict:
    """The published JSON Schema of the declaration file format (draft 2020-12)."""
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
