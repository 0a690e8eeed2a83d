"""What a declaration must satisfy before it is saved (as a draft) or submitted.

A draft may leave the narrative fields blank, but whatever it says must be well formed, and each row of
signals, identities and destinations must be whole. Submitting also needs the narrative complete.
Every free-text value is checked for secrets first; a secret-shaped value is reported and never echoed.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from django.conf import settings

from features.declaration import Declaration, DeclarationInvalid, ErrorCollector
from features.secrets import secret_kind, secret_refusal

SENTENCE_BREAK = re.compile(r"(\S*)[.!?][\"')\]]*\s+(?=\S)")
# Abbreviations whose full stop does not end a sentence.
ABBREVIATIONS = {
    "e.g",
    "i.e",
    "etc",
    "vs",
    "approx",
    "incl",
    "u.s",
    "u.k",
    "e.u",
    "no",
    "dr",
    "mr",
    "ms",
    "mrs",
    "st",
}
SENTENCE_END = re.compile(r"[.!?][\"')\]]*$")
SCOPE = re.compile(r"^[A-Za-z0-9:._/*\-]+$")
DESTINATION_NAME = re.compile(r"^[a-z0-9][a-z0-9._\-]*$")

REQUIRED_TO_SUBMIT = {
    "explanation": "Explain the feature in one sentence before submitting.",
    "purpose": "Describe the documented use case before submitting.",
    "consent_basis": "Choose the consent basis before submitting.",
    "retention_days": "Give a retention period (in days) before submitting.",
    "opt_out": "Say how a user opts out and how the feature is switched off before submitting.",
}


@dataclass(frozen=True)
class Catalogue:
    """What a declaration may refer to: signal keys and service-identity names known to the registry."""

    signals: frozenset[str]
    identities: frozenset[str]


def explanation_problem(explanation: str, *, max_chars: int | None = None) -> str | None:
    """Why an explanation is not exactly one short sentence, or None if it is."""
    limit = max_chars or settings.GOVERNANCE["EXPLANATION_MAX_CHARS"]
    text = explanation.strip()
    if not text:
        return "Explain the feature in one sentence."
    if len(text) > limit:
        return f"Keep the explanation to {limit} characters or fewer (it has {len(text)})."
    breaks = [m for m in SENTENCE_BREAK.finditer(text) if m.group(1).lower().strip("(\"'") not in ABBREVIATIONS]
    if "\n" in text or breaks:
        return "Use exactly one sentence: a user should understand the feature from it alone."
    if not SENTENCE_END.search(text):
        return "End the explanation as a sentence, with a full stop."
    return None


def _free_text_values(declaration: Declaration):
    """(path, value) for every free-text value a person typed."""
    for name in ("explanation", "purpose", "consent_mechanism", "opt_out", "necessity_justification"):
        yield name, getattr(declaration, name)
    for index, row in enumerate(declaration.signals):
        yield f"signals.{index}.signal", row.signal
        yield f"signals.{index}.justification", row.justification
    for index, row in enumerate(declaration.identities):
        yield f"identities.{index}.identity", row.identity
        yield f"identities.{index}.scopes", " ".join(row.scopes)
    for index, row in enumerate(declaration.destinations):
        yield f"destinations.{index}.name", row.name
        yield f"destinations.{index}.signals", " ".join(row.signals)


def secret_paths(declaration: Declaration) -> dict[str, str]:
    """Paths of the values that look like secrets, with the kind each looks like."""
    found = {}
    for path, value in _free_text_values(declaration):
        kind = secret_kind(value)
        if kind:
            found[path] = kind
    return found


def refuse_secrets(declaration: Declaration) -> None:
    """Raise `DeclarationInvalid` naming each field that holds a secret (never the value): what a dry run
    (`check`) says before it runs the policy rules, as saving would."""
    errors = ErrorCollector()
    for path, kind in secret_paths(declaration).items():
        errors.add(path, secret_refusal(kind))
    errors.raise_if_any()


def validate_declaration(declaration: Declaration, *, catalogue: Catalogue, complete: bool) -> None:
    """Raise `DeclarationInvalid` naming every problem; `complete` asks for what submitting needs."""
    errors = ErrorCollector()
    for path, kind in secret_paths(declaration).items():
        errors.add(path, secret_refusal(kind))

    if not errors.has("explanation") and (declaration.explanation or complete):
        problem = explanation_problem(declaration.explanation)
        if problem:
            errors.add("explanation", problem)
    if complete:
        for name, message in REQUIRED_TO_SUBMIT.items():
            if getattr(declaration, name) in ("", None) and not errors.has(name):
                errors.add(name, message)

    _validate_signals(declaration, catalogue, errors)
    _validate_identities(declaration, catalogue, errors)
    _validate_destinations(declaration, errors)
    errors.raise_if_any()


def _validate_signals(declaration: Declaration, catalogue: Catalogue, errors: ErrorCollector) -> None:
    counts = Counter(row.signal for row in declaration.signals)
    for index, row in enumerate(declaration.signals):
        path = f"signals.{index}"
        if errors.has(f"{path}.signal"):
            continue
        if not row.signal:
            errors.add(f"{path}.signal", "Choose a signal, or remove this row.")
        elif row.signal not in catalogue.signals:
            errors.add(f"{path}.signal", f"“{row.signal}” is not in the signal catalogue.")
        elif counts[row.signal] > 1:
            errors.add(f"{path}.signal", f"{row.signal} is declared more than once; keep one row for it.")
        if row.retention_days is None and not errors.has(f"{path}.retention_days"):
            errors.add(f"{path}.retention_days", "Say how many days this signal is kept.")
        if not row.justification and not errors.has(f"{path}.justification"):
            errors.add(f"{path}.justification", "Say why the feature needs this signal.")


def _validate_identities(declaration: Declaration, catalogue: Catalogue, errors: ErrorCollector) -> None:
    counts = Counter(row.identity for row in declaration.identities)
    for index, row in enumerate(declaration.identities):
        path = f"identities.{index}"
        if errors.has(f"{path}.identity"):
            continue
        if not row.identity:
            errors.add(f"{path}.identity", "Choose a service identity, or remove this row.")
        elif row.identity not in catalogue.identities:
            errors.add(f"{path}.identity", f"“{row.identity}” is not in the identity inventory.")
        elif counts[row.identity] > 1:
            errors.add(f"{path}.identity", f"{row.identity} is declared more than once; keep one row for it.")
        if errors.has(f"{path}.scopes"):
            continue
        if not row.scopes:
            errors.add(f"{path}.scopes", "List the scopes this feature needs from the identity.")
        bad = [scope for scope in row.scopes if not SCOPE.match(scope)]
        if bad:
            errors.add(f"{path}.scopes", f"Scopes are single words such as orders:read; check {bad[0]!r}.")


def _validate_destinations(declaration: Declaration, errors: ErrorCollector) -> None:
    declared = {row.signal for row in declaration.signals}
    counts = Counter(row.name for row in declaration.destinations)
    for index, row in enumerate(declaration.destinations):
        path = f"destinations.{index}"
        if not errors.has(f"{path}.name"):
            if not row.name:
                errors.add(f"{path}.name", "Name the downstream system, or remove this row.")
            elif not DESTINATION_NAME.match(row.name):
                errors.add(f"{path}.name", "Use the system's identifier: lower-case letters, digits, . _ -")
            elif counts[row.name] > 1:
                errors.add(f"{path}.name", f"{row.name} is declared more than once; keep one row for it.")
        if not row.kind and not errors.has(f"{path}.kind"):
            errors.add(f"{path}.kind", "Choose what kind of system this is.")
        if errors.has(f"{path}.signals"):
            continue
        if not row.signals:
            errors.add(f"{path}.signals", "Choose the signals that flow to this destination.")
        undeclared = [key for key in row.signals if key not in declared]
        if undeclared:
            errors.add(
                f"{path}.signals",
                f"{', '.join(undeclared)} flows here but is not declared above; declare it or remove it.",
            )


__all__ = ["Catalogue", "DeclarationInvalid", "explanation_problem", "refuse_secrets", "validate_declaration"]
