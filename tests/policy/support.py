"""Hand-built policy contexts, so rule tests run without a database."""

from types import MappingProxyType

from features.choices import IdentityKind, IdentityStatus, Sensitivity, SignalCategory
from governance.policy.context import IdentityFacts, PolicyContext, SignalFacts

CATALOGUE = (
    SignalFacts("locale", Sensitivity.LOW, SignalCategory.CONTEXT),
    SignalFacts("device_class", Sensitivity.LOW, SignalCategory.CONTEXT),
    SignalFacts("purchase_history", Sensitivity.MEDIUM, SignalCategory.BEHAVIOUR),
    SignalFacts("precise_location", Sensitivity.HIGH, SignalCategory.LOCATION),
    SignalFacts("health_condition", Sensitivity.SPECIAL, SignalCategory.SPECIAL_CATEGORY),
)


def identity_facts(name: str = "reco-reader", **overrides) -> IdentityFacts:
    """A well-kept identity (owned, active, short-lived, in a vault) unless told otherwise."""
    values = dict(
        name=name,
        kind=IdentityKind.WORKLOAD_IDENTITY,
        team="Recommendations",
        granted_scopes=("profile:read",),
        credential_max_lifetime_days=1,
        secret_location=f"vault://kv/{name}",
        status=IdentityStatus.ACTIVE,
    )
    values.update(overrides)
    return IdentityFacts(**values)


def make_context(
    *,
    signals=CATALOGUE,
    identities=None,
    identity_uses=None,
    feature_key=None,
    max_credential_lifetime_days=90,
    secret_manager_schemes=("vault", "awssm"),
    explanation_max_chars=200,
) -> PolicyContext:
    """A context knowing the CATALOGUE signals and (by default) one well-kept identity, reco-reader."""
    identities = (identity_facts(),) if identities is None else identities
    return PolicyContext(
        signals=MappingProxyType({facts.key: facts for facts in signals}),
        identities=MappingProxyType({facts.name: facts for facts in identities}),
        identity_uses=MappingProxyType(identity_uses or {}),
        feature_key=feature_key,
        max_credential_lifetime_days=max_credential_lifetime_days,
        secret_manager_schemes=secret_manager_schemes,
        explanation_max_chars=explanation_max_chars,
    )
