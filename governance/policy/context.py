"""The facts policy rules judge a declaration against.

Rules are pure functions of (declaration, context). The registry gathers these facts from its database
(`features.selectors.policy_context_for`); tests and tools can build them by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class SignalFacts:
    """A catalogue signal as the rules see it."""

    key: str
    sensitivity: str
    category: str


@dataclass(frozen=True)
class IdentityFacts:
    """A service identity from the inventory as the rules see it (never its secret)."""

    name: str
    kind: str
    team: str | None
    granted_scopes: tuple[str, ...]
    credential_max_lifetime_days: int
    secret_location: str
    status: str


@dataclass(frozen=True)
class PolicyContext:
    """Everything a rule may know besides the declaration itself."""

    signals: Mapping[str, SignalFacts]
    identities: Mapping[str, IdentityFacts]
    # identity name → {other feature key: that feature's purpose}
    identity_uses: Mapping[str, Mapping[str, str]]
    # The feature the declaration belongs to (None for a new one): its own uses are not reuse.
    feature_key: str | None
    max_credential_lifetime_days: int
    secret_manager_schemes: tuple[str, ...]
    explanation_max_chars: int
