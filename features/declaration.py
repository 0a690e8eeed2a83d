"""A declaration: what one registration says, as plain data.

The browser form, the API and declaration files all turn into a `Declaration`, and the registry turns
each stored version back into one, so validation, policy and diffs work on one shape without HTTP or
the ORM. `parse_declaration` takes the loose dict shape (the same keys as the form and the file format)
and reports every malformed value at once, keyed by its path (`signals.1.retention_days`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from features.choices import (
    AccessMode,
    ConsentBasis,
    DestinationKind,
    HighTrustDomain,
    SignalOrigin,
    Tier,
)
from features.secrets import secret_kind, secret_refusal

# Limits every way in enforces (form, API, files): the database's column sizes where it has one (a test holds
# them equal to the models'), else generous bounds on what is a page of text.
TEXT_MAX = 5000
SIGNAL_KEY_MAX = 80
IDENTITY_NAME_MAX = 120
DESTINATION_NAME_MAX = 120
CONSENT_MECHANISM_MAX = 300
SCOPE_MAX = 200
ROWS_MAX = 100
SCOPES_MAX = 50
DAYS_MAX = 2_147_483_647  # what an integer column holds on every database

NARRATIVE_FIELDS = (
    "explanation",
    "purpose",
    "consent_mechanism",
    "opt_out",
    "necessity_justification",
)


@dataclass(frozen=True)
class SignalDeclaration:
    signal: str
    origin: str = SignalOrigin.COLLECTED
    justification: str = ""
    retention_days: int | None = None


@dataclass(frozen=True)
class IdentityDeclaration:
    identity: str
    scopes: tuple[str, ...] = ()
    access: str = AccessMode.READ


@dataclass(frozen=True)
class DestinationDeclaration:
    name: str
    kind: str
    signals: tuple[str, ...] = ()
    controls_before: bool = False

    def __post_init__(self) -> None:
        # The order of the signals flowing to a destination carries no meaning: keep one canonical order
        # so a declaration reads back from the database equal to what was filed.
        object.__setattr__(self, "signals", tuple(sorted(set(self.signals))))


@dataclass(frozen=True)
class Declaration:
    explanation: str = ""
    purpose: str = ""
    requested_tier: int = Tier.BASIC
    consent_basis: str = ""
    consent_mechanism: str = ""
    retention_days: int | None = None
    opt_out: str = ""
    high_trust_domain: str = HighTrustDomain.NONE
    necessity_justification: str = ""
    signals: tuple[SignalDeclaration, ...] = field(default_factory=tuple)
    identities: tuple[IdentityDeclaration, ...] = field(default_factory=tuple)
    destinations: tuple[DestinationDeclaration, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        """The declaration file shape, in plain JSON types (choices become their plain values)."""
        return json.loads(json.dumps(asdict(self)))


class DeclarationInvalid(Exception):
    """A declaration that cannot be saved as it is; `errors` maps a field path to its messages."""

    def __init__(self, errors: Mapping[str, list[str]]):
        self.errors = {path: list(messages) for path, messages in errors.items()}
        super().__init__("; ".join(f"{path}: {' '.join(msgs)}" for path, msgs in self.errors.items()))


class ErrorCollector:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def has(self, path: str) -> bool:
        return path in self.errors

    def raise_if_any(self) -> None:
        if self.errors:
            raise DeclarationInvalid(self.errors)


SCOPE_SEPARATORS = re.compile(r"[\s,]+")


def split_scopes(value: Any) -> tuple[str, ...]:
    """Scopes arrive as a list, or as one string separated by commas or spaces (the form)."""
    if value is None:
        return ()
    items = SCOPE_SEPARATORS.split(value) if isinstance(value, str) else list(value)
    return tuple(str(item).strip() for item in items if str(item).strip())


def _text(raw: Mapping[str, Any], key: str, path: str, errors: ErrorCollector, max_length: int = TEXT_MAX) -> str:
    value = raw.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.add(path, "Enter text.")
        return ""
    value = value.strip()
    if len(value) > max_length:
        errors.add(path, f"Keep this to {max_length:,} characters (it has {len(value):,}).")
        return value[:max_length]
    return value


def _choice(raw: Mapping[str, Any], key: str, path: str, choices, errors: ErrorCollector, default: str) -> str:
    value = _text(raw, key, path, errors) or default
    if value == "":
        return value  # not chosen yet: validation says what is missing, in words
    if value not in choices.values:
        kind = secret_kind(value)
        if kind:
            # Never echo a secret back, not even in the message refusing it.
            errors.add(path, secret_refusal(kind))
            return default
        allowed = ", ".join(v for v in choices.values if v)
        errors.add(path, f"“{value}” is not one of: {allowed}.")
    return value


def _days(raw: Mapping[str, Any], key: str, path: str, errors: ErrorCollector) -> int | None:
    value = raw.get(key)
    if value in (None, ""):
        return None
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError):
        errors.add(path, "Enter the retention period as a whole number of days.")
        return None
    if days <= 0:
        errors.add(path, "The retention period must be at least one day.")
        return None
    if days > DAYS_MAX:
        errors.add(path, f"The retention period can be at most {DAYS_MAX:,} days.")
        return None
    return days


def _tier(raw: Mapping[str, Any], errors: ErrorCollector) -> int:
    value = raw.get("requested_tier", Tier.BASIC)
    try:
        tier = int(str(value).strip())
    except (TypeError, ValueError):
        tier = -1
    if tier not in Tier.values:
        errors.add("requested_tier", "Choose a tier from 0 to 3.")
        return Tier.BASIC
    return tier


def _rows(raw: Mapping[str, Any], key: str, errors: ErrorCollector) -> list[Mapping[str, Any]]:
    rows = raw.get(key) or []
    if not isinstance(rows, list) or not all(isinstance(row, Mapping) for row in rows):
        errors.add(key, "Give a list of entries.")
        return []
    if len(rows) > ROWS_MAX:
        errors.add(key, f"Declare at most {ROWS_MAX} entries here.")
        return []
    return rows


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def parse_declaration(raw: Mapping[str, Any]) -> Declaration:
    """Turn the loose dict shape into a `Declaration`, or raise `DeclarationInvalid` with every problem."""
    errors = ErrorCollector()
    if not isinstance(raw, Mapping):
        raise DeclarationInvalid({"": ["A declaration is an object with named fields."]})
    signals = []
    for index, row in enumerate(_rows(raw, "signals", errors)):
        path = f"signals.{index}"
        signals.append(
            SignalDeclaration(
                signal=_text(row, "signal", f"{path}.signal", errors, SIGNAL_KEY_MAX),
                origin=_choice(row, "origin", f"{path}.origin", SignalOrigin, errors, SignalOrigin.COLLECTED),
                justification=_text(row, "justification", f"{path}.justification", errors),
                retention_days=_days(row, "retention_days", f"{path}.retention_days", errors),
            )
        )
    identities = []
    for index, row in enumerate(_rows(raw, "identities", errors)):
        path = f"identities.{index}"
        scopes = row.get("scopes")
        if scopes is not None and not isinstance(scopes, str | list | tuple):
            errors.add(f"{path}.scopes", "Give the scopes as a list of strings.")
            scopes = None
        scopes = split_scopes(scopes)
        if len(scopes) > SCOPES_MAX or any(len(scope) > SCOPE_MAX for scope in scopes):
            errors.add(f"{path}.scopes", f"List at most {SCOPES_MAX} scopes of at most {SCOPE_MAX} characters.")
            scopes = ()
        identities.append(
            IdentityDeclaration(
                identity=_text(row, "identity", f"{path}.identity", errors, IDENTITY_NAME_MAX),
                scopes=scopes,
                access=_choice(row, "access", f"{path}.access", AccessMode, errors, AccessMode.READ),
            )
        )
    destinations = []
    for index, row in enumerate(_rows(raw, "destinations", errors)):
        path = f"destinations.{index}"
        flowing = row.get("signals") or []
        if isinstance(flowing, str):
            flowing = split_scopes(flowing)
        if not isinstance(flowing, list | tuple) or len(flowing) > ROWS_MAX:
            errors.add(f"{path}.signals", f"List at most {ROWS_MAX} signal keys.")
            flowing = []
        destinations.append(
            DestinationDeclaration(
                name=_text(row, "name", f"{path}.name", errors, DESTINATION_NAME_MAX),
                kind=_choice(row, "kind", f"{path}.kind", DestinationKind, errors, ""),
                signals=tuple(str(s).strip() for s in flowing if str(s).strip()),
                controls_before=_bool(row.get("controls_before", False)),
            )
        )
    declaration = Declaration(
        explanation=_text(raw, "explanation", "explanation", errors),
        purpose=_text(raw, "purpose", "purpose", errors),
        requested_tier=_tier(raw, errors),
        consent_basis=_choice(raw, "consent_basis", "consent_basis", ConsentBasis, errors, ""),
        consent_mechanism=_text(raw, "consent_mechanism", "consent_mechanism", errors, CONSENT_MECHANISM_MAX),
        retention_days=_days(raw, "retention_days", "retention_days", errors),
        opt_out=_text(raw, "opt_out", "opt_out", errors),
        high_trust_domain=_choice(
            raw, "high_trust_domain", "high_trust_domain", HighTrustDomain, errors, HighTrustDomain.NONE
        ),
        necessity_justification=_text(raw, "necessity_justification", "necessity_justification", errors),
        signals=tuple(signals),
        identities=tuple(identities),
        destinations=tuple(destinations),
    )
    errors.raise_if_any()
    return declaration


def declaration_of(registration) -> Declaration:
    """The declaration a stored registration makes (children in their saved order)."""
    return Declaration(
        explanation=registration.explanation,
        purpose=registration.purpose,
        requested_tier=registration.requested_tier,
        consent_basis=registration.consent_basis,
        consent_mechanism=registration.consent_mechanism,
        retention_days=registration.retention_days,
        opt_out=registration.opt_out,
        high_trust_domain=registration.high_trust_domain,
        necessity_justification=registration.necessity_justification,
        signals=tuple(
            SignalDeclaration(
                signal=row.signal.key,
                origin=row.origin,
                justification=row.justification,
                retention_days=row.retention_days,
            )
            for row in registration.declared_signals.all()
        ),
        identities=tuple(
            IdentityDeclaration(identity=row.identity.name, scopes=tuple(row.scopes), access=row.access)
            for row in registration.declared_identities.all()
        ),
        destinations=tuple(
            DestinationDeclaration(
                name=row.name,
                kind=row.kind,
                signals=tuple(sorted(signal.key for signal in row.signals.all())),
                controls_before=row.controls_before,
            )
            for row in registration.declared_destinations.all()
        ),
    )


def declared_signal_keys(declaration: Declaration) -> list[str]:
    return [row.signal for row in declaration.signals]


def unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
