"""The policy rules of DESIGN.md, one small pure function each, registered in RULES in run order.

A rule body looks at a `Declaration` and a `PolicyContext` and yields a `Breach` (where, and a message
that tells the owner how to fix it). The `@rule` decorator turns breaches into `PolicyFinding`s with the
rule's id, its default severity and its framework references from references.yaml; a breach may carry
its own severity where the rule's docstring says so. Rows whose signal or identity is not in the context
are skipped: validation reports unknown names, the rules judge known ones.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from features.choices import (
    SENSITIVITY_RANK,
    AccessMode,
    ConsentBasis,
    DestinationKind,
    IdentityKind,
    IdentityStatus,
    Sensitivity,
    SignalOrigin,
    Tier,
)
from features.declaration import Declaration
from features.validation import explanation_problem
from governance.policy.context import IdentityFacts, PolicyContext
from governance.policy.references import Reference, explain
from governance.policy.severity import Severity

__all__ = ["RULES", "Breach", "PolicyFinding", "Severity", "rule"]


@dataclass(frozen=True)
class PolicyFinding:
    """One rule's verdict on one part of a declaration; `path` is the field it is about ("" = all)."""

    rule_id: str
    severity: Severity
    message: str
    path: str
    references: tuple[Reference, ...]

    @property
    def is_critical(self) -> bool:
        return self.severity == Severity.CRITICAL

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON types, for the API and `check_declaration --format json`."""
        return {
            "rule_id": self.rule_id,
            "severity": str(self.severity),
            "path": self.path,
            "message": self.message,
            "references": [reference.as_dict() for reference in self.references],
        }


@dataclass(frozen=True)
class Breach:
    """What a rule body yields; `severity` overrides the rule's default for this case only."""

    path: str
    message: str
    severity: Severity | None = None


Rule = Callable[[Declaration, PolicyContext], list[PolicyFinding]]
RULES: dict[str, Rule] = {}


def rule(rule_id: str) -> Callable[[Callable[[Declaration, PolicyContext], Iterable[Breach]]], Rule]:
    """Register a rule body under `rule_id`; the registered function returns `PolicyFinding`s."""

    def register(body: Callable[[Declaration, PolicyContext], Iterable[Breach]]) -> Rule:
        if rule_id in RULES:
            raise ValueError(f"Policy rule {rule_id!r} is registered twice.")

        @functools.wraps(body)
        def run(declaration: Declaration, context: PolicyContext) -> list[PolicyFinding]:
            info = explain(rule_id)
            return [
                PolicyFinding(
                    rule_id=rule_id,
                    severity=breach.severity or info.severity,
                    message=breach.message,
                    path=breach.path,
                    references=info.references,
                )
                for breach in body(declaration, context)
            ]

        run.rule_id = rule_id  # type: ignore[attr-defined]
        RULES[rule_id] = run
        return run

    return register


def _listed(items: Iterable[str]) -> str:
    return ", ".join(items)


def _identities(declaration: Declaration, context: PolicyContext) -> Iterator[tuple[int, Any, IdentityFacts]]:
    """(index, declared row, inventory facts) for each declared identity the inventory knows."""
    for index, row in enumerate(declaration.identities):
        facts = context.identities.get(row.identity)
        if facts is not None:
            yield index, row, facts


# --- the explanation ------------------------------------------------------------------------------


@rule("explanation-one-sentence")
def explanation_one_sentence(declaration: Declaration, context: PolicyContext) -> Iterator[Breach]:
    """The explanation must be exactly one sentence a user understands, within the length limit."""
    problem = explanation_problem(declaration.explanation, max_chars=context.explanation_max_chars)
    if problem:
        yield Breach("explanation", problem)


# Words that give away a backend system: data, so the list can grow without touching the rule.
BACKEND_TERMS = (
    "service account",
    "api key",
    "database",
    "kafka",
    "redis",
    "microservice",
    "backend",
    "back end",
    "pipeline",
    "vault",
    "s3 bucket",
    "endpoint",
)
# Inventory and destination names are identifiers; a plain word ("checkout") reads as prose, not as a
# system, so only names with a separator or a digit are looked for.
IDENTIFIER_LIKE = re.compile(r"[-_.0-9]")


def _mentions(text: str, term: str) -> bool:
    words = [re.escape(word) for word in term.split()]
    pattern = r"(?<![\w-])" + r"[\s_-]+".join(words) + r"s?(?![\w-])"
    return re.search(pattern, text, re.IGNORECASE) is not None


@rule("explanation-hidden-dependency")
def explanation_hidden_dependency(declaration: Declaration, context: PolicyContext) -> Iterator[Breach]:
    """The explanation must not lean on internal identities, destinations or backend systems."""
    text = declaration.explanation
    if not text.strip():
        return
    names = {
        **{name: "a service identity" for name in context.identities},
        **{row.identity: "a service identity" for row in declaration.identities if row.identity},
        **{row.name: "a destination" for row in declaration.destinations if row.name},
    }
    found = [
        f"{name} ({what})"
        for name, what in sorted(names.items())
        if IDENTIFIER_LIKE.search(name) and _mentions(text, name)
    ]
    found += [f"“{term}”" for term in BACKEND_TERMS if _mentions(text, term)]
    if found:
        yield Breach(
            "explanation",
            f"The explanation mentions {_listed(found)}. Say what the user gets and from which of "
            "their data, in their words, without naming the systems behind it.",
        )


# --- tier, signals and consent --------------------------------------------------------------------

# The most sensitive signal each tier allows (tier 0 allows no personal signal at all).
TIER_CEILING = {
    Tier.NONE: 0,
    Tier.BASIC: SENSITIVITY_RANK[Sensitivity.LOW],
    Tier.ENRICHED: SENSITIVITY_RANK[Sensitivity.MEDIUM],
    Tier.HIGH_TRUST: SENSITIVITY_RANK[Sensitivity.SPECIAL],
}


def _tier_for(rank: int) -> int:
    return min(tier for tier, ceiling in TIER_CEILING.items() if ceiling >= rank)


@rule("signal-exceeds-tier")
def signal_exceeds_tier(declaration: Declaration, context: PolicyContext) -> Iterator[Breach]:
    """Every signal must be within the requested tier's sensitivity ceiling."""
    tier = declaration.requested_tier
    ceiling = TIER_CEILING.get(tier, 0)
    for index, row in enumerate(declaration.signals):
        facts = context.signals.get(row.signal)
        if facts is None:
            continue
        rank = SENSITIVITY_RANK.get(facts.sensitivity, SENSITIVITY_RANK[Sensitivity.SPECIAL])
        if rank <= ceiling:
            continue
        if tier == Tier.NONE:
            message = (
                f"Tier 0 uses no personal signals, but {row.signal} is declared: remove it, "
                f"or request tier {_tier_for(rank)} or above."
            )
        else:
            message = (
                f"{row.signal} is {Sensitivity(facts.sensitivity).label.lower()} sensitivity, above what "
                f"tier {tier} allows: remove it, or request tier {_tier_for(rank)} and justify it."
            )
        yield Breach(f"signals.{index}.signal", message)


@rule("inferred-signal")
def inferred_signal(declaration: Declaration, context: PolicyContext) -> Iterator[Breach]:
    """An inferred signal is new data: it needs tier 2 or above."""
    if declaration.requested_tier >= Tier.ENRICHED:
        return
    for index, row in enumerate(declaration.signals):
        if row.origin == SignalOrigin.INFERRED and row.signal in context.signals:
            yield Breach(
                f"signals.{index}.origin",
                f"{row.signal} is inferred, and an inference is new personal data: request tier 2 "
                "with explicit consent, or use only what the user gave you.",
            )


@rule("consent-basis-insufficient")
def consent_basis_insufficient(declaration: Declaration, context: PolicyContext) -> Iterator[Breach]:
    """Tier 2 and above rest on explicit opt-in consent."""
    if declaration.requested_tier < Tier.ENRICHED or declaration.consent_basis == ConsentBasis.CONSENT:
        return
    basis = (
        f"rests on {ConsentBasis(declaration.consent_basis).label.lower()}"
        if declaration.consent_basis in ConsentBasis.values
        else "has no consent basis"
    )
    yield Breach(
        "consent_basis",
        f"Tier {declaration.requested_tier} needs explicit opt-in consent, but this feature {basis}: "
        "collect consent and reference the mechanism, or request tier 1.",
    )


@rule("necessity-missing")
def necessity_missing(declaration: Declaration, context: PolicyContext) -> Iterator[Breach]:
    """Tier 3 must say why the feature cannot work without its high-trust signals."""
    if declaration.requested_tier >= Tier.HIGH_TRUST and not declaration.necessity_justification.strip():
        yield Breach(
            "necessity_justification",
            "Tier 3 needs an operational-necessity justification: say why the feature cannot work "
            "without its high-sensitivity signals, or request a lower tier.",
        )


# --- service identities ---------------------------------------------------------------------------

STATIC_SECRET_KINDS = {
    IdentityKind.API_KEY: "a static API key",
    IdentityKind.USER_PASSWORD: "a user name and password",
}


@rule("long-lived-secret")
def long_lived_secret(declaration: Declaration, context: PolicyContext) -> Iterator[Breach]:
    """Identities should use short-lived credentials, not static keys or passwords.

    Critical (not warning) when the identity is a user and password: a human credential in a machine's
    hands that never expires.
    """
    limit = context.max_credential_lifetime_days
    for index, _row, facts in _identities(declaration, context):
        problems = []
        if facts.kind in STATIC_SECRET_KINDS:
            problems.append(f"it authenticates with {STATIC_SECRET_KINDS[facts.kind]}, which never expires")
        if facts.credential_max_lifetime_days > limit:
            problems.append(
                f"its credential lives up to {facts.credential_max_lifetime_days} days, over the {limit}-day policy"
            )
        if problems:
            yield Breach(
                f"identities.{index}.identity",
                f"{facts.name}: {'; '.join(problems)}. Switch to a workload identity or short-lived "
                f"tokens, or rotate the credential at least every {limit} days.",
                Severity.CRITICAL if facts.kind == IdentityKind.USER_PASSWORD else None,
            )


MANAGER_REFERENCE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://\S+$")


@rule("secret-outside-manager")
def secret_outside_manager(declaration: Declaration, context: PolicyContext) -> Iterator[Breach]:
    """An identity's secret must be a reference into a secrets manager.

    An identity with no secret location is fine (a workload identity has no secret), except an API key
    or a user and password: a static secret always lives somewhere, and it must be a manager.
    The location itself is never repeated in the message, in case someone pasted a secret there.
    """
    schemes = {scheme.lower() for scheme in context.secret_manager_schemes}
    allowed = _listed(f"{scheme}://" for scheme in context.secret_manager_schemes)
    for index, _row, facts in _identities(declaration, context):
        location = facts.secret_location.strip()
        if not location:
            if facts.kind in STATIC_SECRET_KINDS:
                yield Breach(
                    f"identities.{index}.identity",
                    f"{facts.name} holds a static secret but the inventory records no secrets-manager "
                    f"reference for it: keep it in a secrets manager ({allowed}) and record the reference.",
                )
            continue
        reference = MANAGER_REFERENCE.match(location)
        if reference and reference.group(1).lower() in schemes:
            continue
        where = f" ({reference.group(1)}://)" if reference else ""
        yield Breach(
            f"identities.{index}.identity",
            f"{facts.name}'s secret is kept at a location{where} that is not a secrets manager: move it into one "
            f"({allowed}) and record that reference in the identity inventory.",
        )


def _is_wildcard(scope: str) -> bool:
    return "*" in scope


def _is_write(scope: str) -> bool:
    lowered = scope.lower()
    return "write" in lowered or "admin" in lowered


@rule("overprivileged-identity")
def overprivileged_identity(declaration: Declaration, context: PolicyContext) -> Iterator[Breach]:
    """An identity should hold only the scopes the feature declares it needs, read-only if it reads.

    Critical (not warning) when the identity holds a wildcard scope ("*", "orders:*", "*:read").
    """
    for index, row, facts in _identities(declaration, context):
        needed = set(row.scopes)
        wildcards = [scope for scope in facts.granted_scopes if _is_wildcard(scope)]
        excess = [s for s in facts.granted_scopes if s not in needed and not _is_wildcard(s)]
        writes = (
            [s for s in facts.granted_scopes if _is_write(s) and not _is_wildcard(s)]
            if row.access == AccessMode.READ
            else []
        )
        problems = []
        if wildcards:
            problems.append(f"wildcard scope {_listed(wildcards)} grants far more than any feature needs")
        if excess:
            problems.append(f"it holds {_listed(excess)}, which this feature does not declare as needed")
        if writes:
            problems.append(f"it can write ({_listed(writes)}) though this feature only reads")
        if problems:
            needs = _listed(row.scopes) or "nothing declared"
            yield Breach(
                f"identities.{index}.scopes",
                f"{facts.name}: {'; '.join(problems)}. Cut its grants to what the feature needs "
                f"({needs}), or use a narrower identity.",
                Severity.CRITICAL if wildcards else None,
            )


def _normalised(purpose: str) -> str:
    return " ".join(purpose.casefold().split()).rstrip(".!? ")


@rule("identity-reuse")
def identity_reuse(declaration: Declaration, context: PolicyContext) -> Iterator[Breach]:
    """One identity should serve one purpose: flag identities other features use for something else."""
    purpose = _normalised(declaration.purpose)
    for index, _row, facts in _identities(declaration, context):
        uses = context.identity_uses.get(facts.name, {})
        others = sorted(
            key
            for key, other_purpose in uses.items()
            if key != context.feature_key and _normalised(other_purpose) != purpose
        )
        if others:
            yield Breach(
                f"identities.{index}.identity",
                f"{facts.name} also serves {_listed(others)} for a different purpose: give this feature "
                "its own identity, so each identity is bound to one purpose.",
            )


@rule("orphaned-identity")
def orphaned_identity(declaration: Declaration, context: PolicyContext) -> Iterator[Breach]:
    """Every declared identity needs an owning team and must still be active."""
    for index, _row, facts in _identities(declaration, context):
        problems = []
        if not facts.team:
            problems.append("no team owns it")
        if facts.status == IdentityStatus.DISABLED:
            problems.append("it is disabled")
        if problems:
            yield Breach(
                f"identities.{index}.identity",
                f"{facts.name}: {' and '.join(problems)}. Use an identity with an owning team that is "
                "active, or have an administrator assign an owner and re-enable it.",
            )


# --- destinations and retention -------------------------------------------------------------------

CONTROLLED_DESTINATIONS = (
    DestinationKind.RANKING,
    DestinationKind.RECOMMENDATION,
    DestinationKind.SEGMENTATION,
    DestinationKind.THIRD_PARTY,
)


@rule("consent-after-destination")
def consent_after_destination(declaration: Declaration, context: PolicyContext) -> Iterator[Breach]:
    """Consent and retention rules apply before data reaches ranking, segmentation or a third party."""
    for index, row in enumerate(declaration.destinations):
        if row.kind in CONTROLLED_DESTINATIONS and not row.controls_before:
            kind = DestinationKind(row.kind).label.lower()
            yield Breach(
                f"destinations.{index}.controls_before",
                f"{row.name or 'This destination'} ({kind}) receives data before consent and retention "
                "rules apply: filter by consent and retention before sending, then tick the box.",
            )


@rule("third-party-destination")
def third_party_destination(declaration: Declaration, context: PolicyContext) -> Iterator[Breach]:
    """Sending signals to a third party needs tier 3."""
    if declaration.requested_tier >= Tier.HIGH_TRUST:
        return
    for index, row in enumerate(declaration.destinations):
        if row.kind == DestinationKind.THIRD_PARTY:
            yield Breach(
                f"destinations.{index}.kind",
                f"{row.name or 'This destination'} is a third party: keep the data first-party, "
                "or request tier 3 and justify why a partner must receive it.",
            )


@rule("retention-missing")
def retention_missing(declaration: Declaration, context: PolicyContext) -> Iterator[Breach]:
    """The registration and each signal need a retention period."""
    if declaration.retention_days is None:
        yield Breach("retention_days", "Say how many days the feature keeps its data.")
    for index, row in enumerate(declaration.signals):
        if row.retention_days is None and row.signal in context.signals:
            yield Breach(
                f"signals.{index}.retention_days",
                f"Say how many days {row.signal} is kept.",
            )
