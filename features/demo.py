"""The demo's data: teams, one login per role, a signal catalogue, an identity inventory and features.

A registry a newcomer can click through: features in every lifecycle state and every tier, with the
versions their owners file and what the reviewers make of each (`Decide`, `Accept`), and an identity
inventory with the classic non-human-identity mistakes in it (a static API key, a 400-day credential, a
secret kept on a wiki, a wildcard scope, an orphan, a disabled identity) for the policy rules to find.
This module is plain data; `governance.demo.loader` (`manage.py load_demo`) files and reviews it through
the real services, which the registry may not import. The passwords are for development only.
"""

# S106 misreads `secret_location=`: it holds a reference to where a secret lives, never a secret.
# ruff: noqa: S106

from __future__ import annotations

from dataclasses import dataclass, replace

from features.choices import (
    AccessMode,
    ConsentBasis,
    DestinationKind,
    FeatureStatus,
    HighTrustDomain,
    IdentityKind,
    IdentityStatus,
    Sensitivity,
    SignalCategory,
    SignalOrigin,
    Tier,
)
from features.declaration import (
    Declaration,
    DestinationDeclaration,
    IdentityDeclaration,
    SignalDeclaration,
)
from features.models import Outcome
from governance.accounts.models import Role

# --- people ---------------------------------------------------------------------------------------

TEAMS = {
    "recommendations": "Recommendations",
    "search": "Search",
    "payments": "Checkout & Payments",
    "growth": "Growth",
}


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    first_name: str
    last_name: str
    role: Role
    teams: tuple[str, ...] = ()
    is_superuser: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


# Development passwords only: `load_demo` refuses to run with APP_ENV=production.
LOGINS = (
    DemoLogin("owner", "owner-demo-pass", "Olivia", "Okafor", Role.OWNER, ("recommendations", "search")),
    DemoLogin("owner2", "owner2-demo-pass", "Pablo", "Ferreira", Role.OWNER, ("payments", "growth")),
    DemoLogin("reviewer", "reviewer-demo-pass", "Rita", "Svensson", Role.REVIEWER),
    DemoLogin("reviewer2", "reviewer2-demo-pass", "Ravi", "Menon", Role.REVIEWER),
    DemoLogin("auditor", "auditor-demo-pass", "Aiko", "Tanaka", Role.AUDITOR),
    DemoLogin("admin", "admin-demo-pass", "Adam", "Nowak", Role.ADMINISTRATOR, is_superuser=True),
)

# --- the signal catalogue -------------------------------------------------------------------------

L, M, H, S = Sensitivity.LOW, Sensitivity.MEDIUM, Sensitivity.HIGH, Sensitivity.SPECIAL
C = SignalCategory

SIGNALS = (
    # key, name, category, sensitivity, description
    ("locale", "Locale", C.CONTEXT, L, "Language and region setting of the browser or app, e.g. en-GB."),
    ("language", "Content language", C.CONTEXT, L, "Language the shopper chose for content."),
    ("device_class", "Device class", C.CONTEXT, L, "Phone, tablet, desktop or TV; never a device id."),
    ("app_version", "App version", C.CONTEXT, L, "Version of the mobile app making the request."),
    ("time_of_day", "Time of day", C.CONTEXT, L, "Local hour of the request, bucketed to the hour."),
    ("coarse_region", "Coarse region", C.LOCATION, L, "Country or first-level region derived from IP."),
    ("consent_state", "Consent state", C.ACCOUNT, L, "Which personalisation purposes the user opted in to."),
    ("account_tier", "Account tier", C.ACCOUNT, L, "Free, plus or business account."),
    ("signed_in", "Signed in", C.ACCOUNT, L, "Whether the request comes from a signed-in session."),
    ("browsing_history", "Browsing history", C.BEHAVIOUR, M, "Product pages viewed in the last 90 days."),
    ("purchase_history", "Purchase history", C.BEHAVIOUR, M, "Orders placed, by product category."),
    ("search_queries", "Search queries", C.BEHAVIOUR, M, "What the user typed into site search."),
    ("cart_contents", "Cart contents", C.BEHAVIOUR, M, "Products currently in the shopping cart."),
    ("click_stream", "Click stream", C.BEHAVIOUR, M, "Sequence of clicks within a session."),
    ("wishlist_items", "Wishlist items", C.BEHAVIOUR, M, "Products saved for later."),
    ("email_engagement", "Email engagement", C.BEHAVIOUR, M, "Opens and clicks on marketing email."),
    ("precise_location", "Precise location", C.LOCATION, H, "GPS or street-level location from the app."),
    ("income_band", "Income band", C.FINANCIAL, H, "Declared or estimated household income band."),
    ("credit_score", "Credit score", C.FINANCIAL, H, "Score supplied by a credit reference agency."),
    ("payment_instrument_type", "Payment instrument type", C.FINANCIAL, H, "Card, wallet, bank or BNPL."),
    ("partner_loyalty_profile", "Partner loyalty profile", C.PARTNER, H, "Tier and points from a partner."),
    ("partner_audience_segment", "Partner audience segment", C.PARTNER, H, "Segments bought from partners."),
    ("health_condition", "Health condition", C.SPECIAL_CATEGORY, S, "Any health or medical information."),
    ("religious_beliefs", "Religious beliefs", C.SPECIAL_CATEGORY, S, "Religion or philosophical beliefs."),
    ("biometric_face_template", "Face template", C.SPECIAL_CATEGORY, S, "Biometric template of a face."),
    ("sexual_orientation", "Sexual orientation", C.SPECIAL_CATEGORY, S, "Sex life or sexual orientation."),
    ("political_opinions", "Political opinions", C.SPECIAL_CATEGORY, S, "Political views or affiliations."),
    ("ethnic_origin", "Ethnic origin", C.SPECIAL_CATEGORY, S, "Racial or ethnic origin."),
)

# --- the service-identity inventory ---------------------------------------------------------------

K = IdentityKind


@dataclass(frozen=True)
class DemoIdentity:
    name: str
    kind: IdentityKind
    team: str | None
    granted_scopes: tuple[str, ...]
    credential_max_lifetime_days: int
    rotated_days_ago: int | None
    secret_location: str
    description: str
    status: IdentityStatus = IdentityStatus.ACTIVE


IDENTITIES = (
    DemoIdentity(
        name="reco-profile-reader",
        kind=K.WORKLOAD_IDENTITY,
        team="recommendations",
        granted_scopes=("profile:read", "orders:read"),
        credential_max_lifetime_days=1,
        rotated_days_ago=0,
        secret_location="vault://kv/reco/reader",
        description="Short-lived workload token the recommender uses to read profiles and orders.",
    ),
    # Deliberately bad: the credential is written on a wiki page, not kept in a secrets manager.
    DemoIdentity(
        name="reco-feature-store-sa",
        kind=K.SERVICE_ACCOUNT,
        team="recommendations",
        granted_scopes=("features:read",),
        credential_max_lifetime_days=90,
        rotated_days_ago=41,
        secret_location="https://wiki.internal/pages/reco-creds",
        description="Reads precomputed features from the feature store.",
    ),
    DemoIdentity(
        name="search-ranker-sa",
        kind=K.SERVICE_ACCOUNT,
        team="search",
        granted_scopes=("search:read", "catalog:read"),
        credential_max_lifetime_days=30,
        rotated_days_ago=12,
        secret_location="awssm://prod/search/ranker",
        description="The search ranker's account for query logs and the catalogue.",
    ),
    # Deliberately bad: a wildcard scope, far beyond what any feature declares.
    DemoIdentity(
        name="search-admin-sa",
        kind=K.SERVICE_ACCOUNT,
        team="search",
        granted_scopes=("*",),
        credential_max_lifetime_days=30,
        rotated_days_ago=20,
        secret_location="awssm://prod/search/admin",
        description="Kept from the search index migration; holds every scope.",
    ),
    DemoIdentity(
        name="checkout-payments-client",
        kind=K.OAUTH_CLIENT,
        team="payments",
        granted_scopes=("payments:read", "orders:read"),
        credential_max_lifetime_days=30,
        rotated_days_ago=9,
        secret_location="vault://kv/payments/checkout-client",
        description="OAuth client of the checkout service.",
    ),
    # Deliberately bad: a credential that lives for 400 days (last rotated over a year ago).
    DemoIdentity(
        name="payments-risk-batch",
        kind=K.SERVICE_ACCOUNT,
        team="payments",
        granted_scopes=("risk:read", "credit:read"),
        credential_max_lifetime_days=400,
        rotated_days_ago=380,
        secret_location="vault://kv/payments/risk-batch",
        description="Nightly batch that scores instalment eligibility.",
    ),
    # Deliberately bad: a static API key handed over by a partner.
    DemoIdentity(
        name="partner-loyalty-api-key",
        kind=K.API_KEY,
        team="growth",
        granted_scopes=("loyalty:read",),
        credential_max_lifetime_days=90,
        rotated_days_ago=75,
        secret_location="vault://kv/growth/loyalty-partner",
        description="Static key for the partner loyalty programme's API.",
    ),
    DemoIdentity(
        name="growth-segments-writer",
        kind=K.WORKLOAD_IDENTITY,
        team="growth",
        granted_scopes=("segments:write", "events:read"),
        credential_max_lifetime_days=1,
        rotated_days_ago=0,
        secret_location="vault://kv/growth/segments",
        description="Writes audience segments for campaigns.",
    ),
    DemoIdentity(
        name="analytics-events-reader",
        kind=K.WORKLOAD_IDENTITY,
        team="growth",
        granted_scopes=("events:read",),
        credential_max_lifetime_days=1,
        rotated_days_ago=0,
        secret_location="awssm://prod/analytics/events-reader",
        description="Reads the first-party event stream.",
    ),
    DemoIdentity(
        name="geo-context-reader",
        kind=K.WORKLOAD_IDENTITY,
        team="growth",
        granted_scopes=("geo:read",),
        credential_max_lifetime_days=1,
        rotated_days_ago=0,
        secret_location="vault://kv/growth/geo",
        description="Resolves a request's coarse region.",
    ),
    # Deliberately bad: its team was dissolved and nobody owns it any more.
    DemoIdentity(
        name="ml-experiments-sa",
        kind=K.SERVICE_ACCOUNT,
        team=None,
        granted_scopes=("events:read", "profile:read"),
        credential_max_lifetime_days=30,
        rotated_days_ago=160,
        secret_location="vault://kv/ml/experiments",
        description="Left behind by the former ML platform team.",
    ),
    # Deliberately bad: disabled after an incident, yet still declared by a feature.
    DemoIdentity(
        name="growth-email-sync",
        kind=K.OAUTH_CLIENT,
        team="growth",
        granted_scopes=("crm:write",),
        credential_max_lifetime_days=30,
        rotated_days_ago=200,
        secret_location="vault://kv/growth/email-sync",
        description="Synced email engagement to the CRM; disabled after an incident.",
        status=IdentityStatus.DISABLED,
    ),
)

# --- features -------------------------------------------------------------------------------------


def _signal(key: str, why: str, days: int, origin: str = SignalOrigin.COLLECTED) -> SignalDeclaration:
    return SignalDeclaration(signal=key, origin=origin, justification=why, retention_days=days)


def _identity(name: str, *scopes: str, access: str = AccessMode.READ) -> IdentityDeclaration:
    return IdentityDeclaration(identity=name, scopes=scopes, access=access)


def _destination(name: str, kind: str, *signals: str, controls_before: bool = True) -> DestinationDeclaration:
    return DestinationDeclaration(name=name, kind=kind, signals=signals, controls_before=controls_before)


POPULAR_THIS_WEEK = Declaration(
    explanation="Everyone sees the products that sold best this week, whatever we know about them.",
    purpose="The non-personalised fallback for the home page: shown to signed-out visitors and to anyone "
    "who switched personalisation off.",
    requested_tier=Tier.NONE,
    consent_basis=ConsentBasis.LEGITIMATE_INTEREST,
    consent_mechanism="No personal data is used; documented in the privacy notice, section 2.",
    retention_days=7,
    opt_out="Nothing to opt out of; the feature flag home-popular switches the carousel off.",
)

LOCALISED_SEARCH = Declaration(
    explanation="Search results come first in your language and for your kind of device.",
    purpose="Rank search results in the visitor's language and favour products that suit their device.",
    requested_tier=Tier.BASIC,
    consent_basis=ConsentBasis.CONTRACT,
    consent_mechanism="Terms of service, section 4 (localised service).",
    retention_days=30,
    opt_out="Settings > Language lets users choose; the feature flag search-localised switches it off.",
    signals=(
        _signal("locale", "To rank results in the user's language and region first.", 30),
        _signal("device_class", "To favour apps and accessories that fit the device.", 30),
    ),
    identities=(_identity("search-ranker-sa", "search:read", "catalog:read"),),
    destinations=(_destination("search-ranker", DestinationKind.RANKING, "locale", "device_class"),),
)

RECOMMENDATIONS_V1 = Declaration(
    explanation="We suggest products like the ones you have viewed and bought with us.",
    purpose="The 'Recommended for you' carousel on the home and product pages, built from first-party "
    "behaviour of users who opted in to personalised recommendations.",
    requested_tier=Tier.ENRICHED,
    consent_basis=ConsentBasis.CONSENT,
    consent_mechanism="Consent banner purpose 'personalised recommendations' (CMP record reco-v3).",
    retention_days=180,
    opt_out="Settings > Privacy > Personalised recommendations; the flag reco-home switches it off.",
    signals=(
        _signal("browsing_history", "To find products similar to the ones viewed.", 90),
        _signal("purchase_history", "To suggest complements and avoid re-suggesting purchases.", 180),
        _signal("locale", "To suggest products sold in the user's market.", 30),
    ),
    identities=(_identity("reco-profile-reader", "profile:read", "orders:read"),),
    destinations=(
        _destination("reco-ranker", DestinationKind.RECOMMENDATION, "browsing_history", "purchase_history", "locale"),
    ),
)

# Version 2 adds the cart, read through the checkout's OAuth client: the review page shows the new signal,
# identity and flow against the approved version 1, and a warning that does not block an approval (the
# client also holds payments:read, which this feature does not need).
RECOMMENDATIONS_V2 = replace(
    RECOMMENDATIONS_V1,
    signals=(
        *RECOMMENDATIONS_V1.signals,
        _signal("cart_contents", "To suggest accessories for what is already in the cart.", 30),
    ),
    identities=(*RECOMMENDATIONS_V1.identities, _identity("checkout-payments-client", "orders:read")),
    destinations=(
        _destination(
            "reco-ranker",
            DestinationKind.RECOMMENDATION,
            "browsing_history",
            "purchase_history",
            "locale",
            "cart_contents",
        ),
    ),
)

# Tier 3, first sent back for its missing necessity justification; version 2 is approved by two
# reviewers after one of them accepted, until a date, the risk of the feature store's wiki-kept secret.
NEARBY_STORE_PICKS_V1 = Declaration(
    explanation="We suggest products in stock at the shop nearest to where you are now.",
    purpose="The 'In stock near you' strip in the app: products ready for same-day pickup at the nearest "
    "store, for app users who chose to share their location.",
    requested_tier=Tier.HIGH_TRUST,
    consent_basis=ConsentBasis.CONSENT,
    consent_mechanism="App location permission plus the in-app opt-in 'Show stock near me' (CMP record store-v1).",
    retention_days=1,
    opt_out="Turn off 'Show stock near me' or the app's location permission; the flag app-store-picks switches it off.",
    signals=(
        _signal("precise_location", "To find the nearest store that has the product in stock.", 1),
        _signal("locale", "To suggest products sold in the user's market.", 30),
    ),
    identities=(_identity("reco-feature-store-sa", "features:read"),),
    destinations=(_destination("store-picks", DestinationKind.RECOMMENDATION, "precise_location", "locale"),),
)

NEARBY_STORE_PICKS_V2 = replace(
    NEARBY_STORE_PICKS_V1,
    necessity_justification="Stock is only useful within walking distance and a region spans dozens of "
    "stores, so only the current location picks the right one; it is used for the request and kept a day.",
)

# In review with a critical finding: it borrows the orphaned account the ML team left behind.
PERSONAL_SEARCH_RANKING = Declaration(
    explanation="Search results favour the kinds of products you clicked on after earlier searches.",
    purpose="Re-rank site search results towards the product categories a signed-in shopper clicked before.",
    requested_tier=Tier.ENRICHED,
    consent_basis=ConsentBasis.CONSENT,
    consent_mechanism="Consent banner purpose 'personalised search' (CMP record search-v2).",
    retention_days=90,
    opt_out="Settings > Privacy > Personalised search; the flag search-personal-rank switches it off.",
    signals=(
        _signal("click_stream", "To learn which product categories the user clicks after searching.", 90),
        _signal("search_queries", "To match a new query to the categories clicked for similar ones.", 90),
    ),
    identities=(_identity("ml-experiments-sa", "events:read"),),
    destinations=(_destination("search-ranker", DestinationKind.RANKING, "click_stream", "search_queries"),),
)

# An unfinished draft: the narrative is only half written, which a draft may be.
SEARCH_SUGGESTIONS = Declaration(
    explanation="As you type, we suggest searches based on what you searched for before.",
    purpose="Autocomplete suggestions in the search box.",
    requested_tier=Tier.ENRICHED,
    signals=(
        _signal("search_queries", "To suggest the user's own recent searches.", 60),
        _signal("locale", "To suggest searches in the user's language.", 30),
    ),
    identities=(_identity("search-admin-sa", "search:read"),),
    destinations=(_destination("search-suggest", DestinationKind.RANKING, "search_queries", "locale"),),
)

# Sent back by review: a high-sensitivity signal asked for at tier 2.
CHECKOUT_PAYMENT_ORDER = Declaration(
    explanation="At checkout we list first the ways to pay that you used before.",
    purpose="Order the payment methods on the checkout page so returning customers find theirs first.",
    requested_tier=Tier.ENRICHED,
    consent_basis=ConsentBasis.CONSENT,
    consent_mechanism="Checkout setting 'Remember how I pay' (CMP record checkout-v1).",
    retention_days=365,
    opt_out="Untick 'Remember how I pay' at checkout; the flag checkout-pay-order switches it off.",
    signals=(
        _signal("payment_instrument_type", "To put the user's usual payment method first.", 365),
        _signal("purchase_history", "To tell returning customers from new ones.", 365),
    ),
    identities=(_identity("checkout-payments-client", "payments:read", "orders:read"),),
    destinations=(
        _destination("checkout-ui", DestinationKind.RESPONSE, "payment_instrument_type", "purchase_history"),
    ),
)

INSTALMENT_OFFERS = Declaration(
    explanation="We offer paying in instalments only when it is likely to be affordable for you.",
    purpose="Show the 'pay in 3' instalment option at checkout to customers whose affordability check "
    "passes, as the lender requires.",
    requested_tier=Tier.HIGH_TRUST,
    consent_basis=ConsentBasis.CONSENT,
    consent_mechanism="Explicit opt-in on the instalment application step (CMP record credit-v2).",
    retention_days=90,
    opt_out="Decline the instalment offer or withdraw consent in Settings > Payments; the flag "
    "checkout-instalments switches it off.",
    high_trust_domain=HighTrustDomain.FINANCIAL_SERVICES,
    necessity_justification="Responsible-lending rules require an affordability check before credit is "
    "offered; without income band and credit score the option cannot be shown at all.",
    signals=(
        _signal("income_band", "Affordability check required before offering credit.", 90),
        _signal("credit_score", "Affordability check required before offering credit.", 90),
        _signal("cart_contents", "The basket value decides the instalment amounts.", 1),
    ),
    identities=(_identity("payments-risk-batch", "risk:read", "credit:read"),),
    destinations=(
        _destination("instalment-eligibility", DestinationKind.SEGMENTATION, "income_band", "credit_score"),
        _destination("checkout-ui", DestinationKind.RESPONSE, "cart_contents"),
    ),
)

# Rejected by review: special-category data inferred and shipped to an ad partner.
WELLNESS_PARTNER_OFFERS = Declaration(
    explanation="We show you wellness offers from our partners that match your interests.",
    purpose="Partner-funded wellness promotions in the app, targeted with the partner's loyalty data.",
    requested_tier=Tier.HIGH_TRUST,
    consent_basis=ConsentBasis.CONSENT,
    consent_mechanism="Marketing consent, purpose 'partner offers'.",
    retention_days=365,
    opt_out="Settings > Marketing > Partner offers; the flag growth-wellness switches it off.",
    high_trust_domain=HighTrustDomain.HEALTHCARE,
    necessity_justification="Partners pay per matched offer, so matching needs their loyalty data.",
    signals=(
        _signal("health_condition", "Inferred from purchases to pick relevant offers.", 365, SignalOrigin.INFERRED),
        _signal("partner_loyalty_profile", "To match the partner's members to offers.", 365),
        _signal("email_engagement", "To send the offers people open.", 180),
    ),
    identities=(
        _identity("partner-loyalty-api-key", "loyalty:read"),
        _identity("growth-email-sync", "crm:write", access=AccessMode.WRITE),
    ),
    destinations=(
        _destination(
            "partner-ad-network",
            DestinationKind.THIRD_PARTY,
            "health_condition",
            "partner_loyalty_profile",
            controls_before=False,
        ),
        _destination("campaign-segments", DestinationKind.SEGMENTATION, "email_engagement"),
    ),
)

SEASONAL_BANNER = Declaration(
    explanation="The home page banner follows the season and time of day where you are.",
    purpose="Seasonal home-page banner (winter sale, summer collection) chosen by region and hour.",
    requested_tier=Tier.BASIC,
    consent_basis=ConsentBasis.LEGITIMATE_INTEREST,
    consent_mechanism="Legitimate-interest assessment LIA-2024-07.",
    retention_days=1,
    opt_out="Settings > Personalisation > off; the flag home-seasonal switches it off.",
    signals=(
        _signal("coarse_region", "Seasons differ between hemispheres and regions.", 1),
        _signal("time_of_day", "Morning and evening banners differ.", 1),
    ),
    identities=(_identity("geo-context-reader", "geo:read"),),
    destinations=(_destination("home-banner", DestinationKind.RESPONSE, "coarse_region", "time_of_day"),),
)


# --- what review makes of them -------------------------------------------------------------------


@dataclass(frozen=True)
class Accept:
    """A reviewer accepts the risk of the version's open finding of `rule_id` for `days`, with a reason."""

    reviewer: str
    rule_id: str
    reason: str
    days: int


@dataclass(frozen=True)
class Decide:
    """A reviewer's decision on the version in review (`tier` for an approval)."""

    reviewer: str
    outcome: Outcome
    tier: int | None = None
    conditions: str = ""
    comment: str = ""


@dataclass(frozen=True)
class Version:
    """A version the owner files; `submit=False` leaves it a draft, `review` is what reviewers then do."""

    declaration: Declaration
    review: tuple[Accept | Decide, ...] = ()
    submit: bool = True


@dataclass(frozen=True)
class DemoFeature:
    """A feature, the versions its owner files and their reviews, and the status that story ends in."""

    key: str
    name: str
    team: str
    owner: str
    versions: tuple[Version, ...]
    status: FeatureStatus
    retire: bool = False


APPROVE, REQUEST_CHANGES, REJECT = Outcome.APPROVE, Outcome.REQUEST_CHANGES, Outcome.REJECT

FEATURES = (
    # Tier 0 personalises nothing: approved as it is filed, without a reviewer.
    DemoFeature(
        "popular-this-week", "Popular this week", "recommendations", "owner",
        (Version(POPULAR_THIS_WEEK),),
        FeatureStatus.APPROVED,
    ),
    DemoFeature(
        "localised-search", "Localised search results", "search", "owner",
        (Version(LOCALISED_SEARCH, review=(
            Decide("reviewer", APPROVE, Tier.BASIC, conditions="Locale and device class only; never a device id."),
        )),),
        FeatureStatus.APPROVED,
    ),
    # Version 1 approved, version 2 (tier 2, a warning but no critical finding) waits for a reviewer: the
    # review page shows the diff against version 1.
    DemoFeature(
        "product-recommendations", "Recommended for you", "recommendations", "owner",
        (
            Version(RECOMMENDATIONS_V1, review=(
                Decide("reviewer2", APPROVE, Tier.ENRICHED,
                       conditions="Only for users who opted in to personalised recommendations."),
            )),
            Version(RECOMMENDATIONS_V2),
        ),
        FeatureStatus.IN_REVIEW,
    ),
    DemoFeature(
        "search-suggestions", "Personal search suggestions", "search", "owner",
        (Version(SEARCH_SUGGESTIONS, submit=False),),
        FeatureStatus.DRAFT,
    ),
    # In review with an open critical finding (an orphaned identity): it cannot be approved as it is.
    DemoFeature(
        "personal-search-ranking", "Personal search ranking", "search", "owner",
        (Version(PERSONAL_SEARCH_RANKING),),
        FeatureStatus.IN_REVIEW,
    ),
    DemoFeature(
        "nearby-store-picks", "In stock near you", "recommendations", "owner",
        (
            Version(NEARBY_STORE_PICKS_V1, review=(
                Decide("reviewer2", REQUEST_CHANGES, comment="Tier 3 needs the operational necessity: say why "
                       "the coarse region is not enough to choose the store, and how long the location is kept."),
            )),
            Version(NEARBY_STORE_PICKS_V2, review=(
                Accept("reviewer", "secret-outside-manager", days=90, reason="The feature-store credential "
                       "moves into Vault with the platform migration (SEC-231); until then it is read-only and "
                       "rotated every 90 days."),
                Decide("reviewer", APPROVE, Tier.HIGH_TRUST,
                       conditions="The location serves the request only; it is never stored with the profile."),
                Decide("reviewer2", APPROVE, Tier.HIGH_TRUST,
                       conditions="The location serves the request only; it is never stored with the profile."),
            )),
        ),
        FeatureStatus.APPROVED,
    ),
    DemoFeature(
        "checkout-payment-order", "Usual payment method first", "payments", "owner2",
        (Version(CHECKOUT_PAYMENT_ORDER, review=(
            Decide("reviewer", REQUEST_CHANGES, comment="The payment instrument type is high-sensitivity "
                   "financial data: drop it and order by purchase history alone at tier 2, or ask for tier 3 "
                   "with a necessity justification."),
        )),),
        FeatureStatus.CHANGES_REQUESTED,
    ),
    # Tier 3 needs two reviewers: one has approved, the second is still to come.
    DemoFeature(
        "instalment-offers", "Pay in instalments", "payments", "owner2",
        (Version(INSTALMENT_OFFERS, review=(
            Decide("reviewer", APPROVE, Tier.HIGH_TRUST,
                   conditions="Income band and credit score serve the affordability check only, never marketing.",
                   comment="Rotate payments-risk-batch to the 90-day policy before the next review."),
        )),),
        FeatureStatus.IN_REVIEW,
    ),
    DemoFeature(
        "wellness-partner-offers", "Wellness partner offers", "growth", "owner2",
        (Version(WELLNESS_PARTNER_OFFERS, review=(
            Decide("reviewer2", REJECT, comment="Health conditions inferred from purchases would reach an ad "
                   "network before consent applies; we will not approve this at any tier."),
        )),),
        FeatureStatus.REJECTED,
    ),
    DemoFeature(
        "seasonal-banner", "Seasonal home banner", "growth", "owner2",
        (Version(SEASONAL_BANNER, review=(Decide("reviewer2", APPROVE, Tier.BASIC),)),),
        FeatureStatus.RETIRED,
        retire=True,
    ),
)  # fmt: skip
