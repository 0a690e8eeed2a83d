"""A readable difference between two declarations: what a reviewer or auditor needs to see changed."""

from __future__ import annotations

from dataclasses import dataclass, field

from features.choices import ConsentBasis, HighTrustDomain, Tier
from features.declaration import Declaration

FIELD_LABELS = {
    "explanation": "Explanation",
    "purpose": "Purpose",
    "requested_tier": "Requested tier",
    "consent_basis": "Consent basis",
    "consent_mechanism": "Consent mechanism",
    "retention_days": "Retention (days)",
    "opt_out": "Opt-out and switch-off",
    "high_trust_domain": "High-trust domain",
    "necessity_justification": "Operational necessity",
}
LABELLED_CHOICES = {
    "requested_tier": Tier,
    "consent_basis": ConsentBasis,
    "high_trust_domain": HighTrustDomain,
}


@dataclass(frozen=True)
class FieldChange:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class RowChange:
    """A declared row (signal, identity or destination) added, removed, or changed in some details."""

    key: str
    change: str  # "added", "removed" or "changed"
    details: tuple[str, ...] = ()


@dataclass
class DeclarationDiff:
    fields: list[FieldChange] = field(default_factory=list)
    signals: list[RowChange] = field(default_factory=list)
    identities: list[RowChange] = field(default_factory=list)
    destinations: list[RowChange] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.fields or self.signals or self.identities or self.destinations)


def _shown(name: str, value) -> str:
    if value in (None, ""):
        return "—"
    choices = LABELLED_CHOICES.get(name)
    return str(choices(value).label) if choices else str(value)


def _row_changes(before: dict, after: dict, describe) -> list[RowChange]:
    changes = [RowChange(key, "added", describe(None, row)) for key, row in after.items() if key not in before]
    changes += [RowChange(key, "removed") for key in before if key not in after]
    for key in before.keys() & after.keys():
        details = describe(before[key], after[key])
        if details:
            changes.append(RowChange(key, "changed", details))
    return sorted(changes, key=lambda change: (change.change, change.key))


def _describe_signal(old, new) -> tuple[str, ...]:
    details = []
    if old is None or old.origin != new.origin:
        details.append(f"{new.origin}")
    if old is None or old.retention_days != new.retention_days:
        details.append(f"kept {new.retention_days} days")
    if old is not None and old.justification != new.justification:
        details.append(f"why: {new.justification}")
    return tuple(details)


def _describe_identity(old, new) -> tuple[str, ...]:
    details = []
    if old is None or old.access != new.access:
        details.append(f"{new.access} access")
    old_scopes = set(old.scopes) if old else set()
    details += [f"+ scope {scope}" for scope in sorted(set(new.scopes) - old_scopes)]
    details += [f"− scope {scope}" for scope in sorted(old_scopes - set(new.scopes))]
    return tuple(details)


def _describe_destination(old, new) -> tuple[str, ...]:
    details = []
    if old is None or old.kind != new.kind:
        details.append(new.kind.replace("_", " "))
    old_signals = set(old.signals) if old else set()
    details += [f"+ {key}" for key in sorted(set(new.signals) - old_signals)]
    details += [f"− {key}" for key in sorted(old_signals - set(new.signals))]
    if old is None or old.controls_before != new.controls_before:
        details.append("consent and retention applied before" if new.controls_before else "controls applied after")
    return tuple(details)


def declaration_diff(before: Declaration | None, after: Declaration) -> DeclarationDiff:
    """What changed from `before` (None: nothing declared yet) to `after`."""
    before = before or Declaration(requested_tier=None)
    diff = DeclarationDiff()
    for name, label in FIELD_LABELS.items():
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            diff.fields.append(FieldChange(label, _shown(name, old), _shown(name, new)))
    diff.signals = _row_changes(
        {row.signal: row for row in before.signals},
        {row.signal: row for row in after.signals},
        _describe_signal,
    )
    diff.identities = _row_changes(
        {row.identity: row for row in before.identities},
        {row.identity: row for row in after.identities},
        _describe_identity,
    )
    diff.destinations = _row_changes(
        {row.name: row for row in before.destinations},
        {row.name: row for row in after.destinations},
        _describe_destination,
    )
    return diff
