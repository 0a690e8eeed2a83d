"""Filing, re-filing and approving registrations through the domain functions, for review tests."""

from __future__ import annotations

import datetime

from django.utils import timezone

from features.choices import ConsentBasis, DestinationKind, Sensitivity, SignalCategory, Tier
from features.declaration import Declaration, DestinationDeclaration, IdentityDeclaration, SignalDeclaration
from features.models import Feature, Outcome, Registration
from features.services import feature_create, registration_save_draft, registration_submit
from governance.reviews.services import review_decide
from tests.factories import ServiceIdentityFactory, SignalFactory, catalogue_for, complete_declaration

# A fixed "today", so re-review dates do not depend on the day the tests run (or on 29 February).
TODAY = datetime.date(2030, 3, 14)
WIKI = "https://wiki.example.test/reco/credentials"
LOCALE = SignalDeclaration("locale", "collected", "To pick the language.", 30)
HISTORY = SignalDeclaration("purchase_history", "collected", "To suggest related products.", 90)


def freeze_today(monkeypatch, day: datetime.date = TODAY) -> datetime.date:
    """Make `timezone.localdate()` answer `day` (calls with an explicit value still convert it)."""
    real = timezone.localdate

    def localdate(value=None, timezone=None):
        return day if value is None else real(value, timezone)

    monkeypatch.setattr("django.utils.timezone.localdate", localdate)
    return day


def file_feature(owner, team, declaration: Declaration | None = None, *, key: str = "reco-locale") -> Registration:
    """Create a feature with `declaration` (complete by default) and submit its first version."""
    declaration = declaration or complete_declaration()
    catalogue_for(declaration)
    feature = feature_create(
        actor=owner, key=key, name=key.replace("-", " ").title(), team=team, declaration=declaration
    )
    return registration_submit(actor=owner, feature=feature)


def refile(owner, feature: Feature, declaration: Declaration | None = None) -> Registration:
    """Save a new version of the feature and submit it."""
    declaration = declaration or complete_declaration(purpose="Show products in the shopper's language.")
    catalogue_for(declaration)
    registration_save_draft(actor=owner, feature=feature, declaration=declaration)
    return registration_submit(actor=owner, feature=feature)


def approve(reviewer, registration: Registration, tier: int | None = None, **extra):
    """One reviewer's approval, at the requested tier unless told otherwise."""
    return review_decide(
        actor=reviewer,
        registration=registration,
        outcome=Outcome.APPROVE,
        tier=registration.requested_tier if tier is None else tier,
        **extra,
    )


def with_wiki_secret(name: str = "wiki-reader") -> Declaration:
    """A tier-1 declaration whose identity keeps its secret on a wiki: secret-outside-manager (critical)."""
    ServiceIdentityFactory(name=name, secret_location=WIKI)
    return complete_declaration(identities=(IdentityDeclaration(name, ("profile:read",), "read"),))


def with_purchase_history(**overrides) -> Declaration:
    """Locale and purchase history (medium); at tier 1 that is signal-exceeds-tier (critical)."""
    SignalFactory(key="purchase_history", sensitivity=Sensitivity.MEDIUM, category=SignalCategory.BEHAVIOUR)
    values = dict(
        signals=(LOCALE, HISTORY),
        destinations=(
            DestinationDeclaration("reco-ranker", DestinationKind.RANKING, ("locale", "purchase_history"), True),
        ),
    )
    return complete_declaration(**(values | overrides))


def tier_2() -> Declaration:
    """A tier-2 declaration that is clean under policy."""
    return complete_declaration(requested_tier=Tier.ENRICHED, consent_basis=ConsentBasis.CONSENT)


def tier_3() -> Declaration:
    """A tier-3 declaration that is clean under policy."""
    return complete_declaration(
        requested_tier=Tier.HIGH_TRUST,
        consent_basis=ConsentBasis.CONSENT,
        consent_mechanism="Consent banner, personalisation toggle",
        necessity_justification="Shoppers in regulated markets must see locale-specific legal terms.",
    )
