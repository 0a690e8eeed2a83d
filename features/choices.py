"""The registry's vocabularies: every enumerated value in the domain is one of these."""

from django.db import models


class Sensitivity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    SPECIAL = "special", "Special category"


SENSITIVITY_RANK = {Sensitivity.LOW: 1, Sensitivity.MEDIUM: 2, Sensitivity.HIGH: 3, Sensitivity.SPECIAL: 4}


class SignalCategory(models.TextChoices):
    CONTEXT = "context", "Context (locale, device, region)"
    ACCOUNT = "account", "Account and consent state"
    BEHAVIOUR = "behaviour", "First-party behaviour"
    LOCATION = "location", "Location"
    FINANCIAL = "financial", "Financial"
    PARTNER = "partner", "Partner-supplied"
    SPECIAL_CATEGORY = "special_category", "Special category"


class Tier(models.IntegerChoices):
    NONE = 0, "Tier 0 · none"
    BASIC = 1, "Tier 1 · basic"
    ENRICHED = 2, "Tier 2 · enriched"
    HIGH_TRUST = 3, "Tier 3 · high-trust"


class ConsentBasis(models.TextChoices):
    CONSENT = "consent", "Consent (explicit opt-in)"
    CONTRACT = "contract", "Contract"
    LEGITIMATE_INTEREST = "legitimate_interest", "Legitimate interest"
    LEGAL_OBLIGATION = "legal_obligation", "Legal obligation"


class HighTrustDomain(models.TextChoices):
    NONE = "", "None"
    HEALTHCARE = "healthcare", "Healthcare"
    FINANCIAL_SERVICES = "financial_services", "Financial services"
    B2B_PARTNER_PORTAL = "b2b_partner_portal", "B2B partner portal"


class SignalOrigin(models.TextChoices):
    COLLECTED = "collected", "Collected"
    INFERRED = "inferred", "Inferred"


class AccessMode(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Write"


class DestinationKind(models.TextChoices):
    RANKING = "ranking", "Ranking"
    RECOMMENDATION = "recommendation", "Recommendation"
    SEGMENTATION = "segmentation", "Segmentation"
    ANALYTICS = "analytics", "Analytics"
    THIRD_PARTY = "third_party", "Third party"
    RESPONSE = "response", "Response (shown to the user)"


class IdentityKind(models.TextChoices):
    SERVICE_ACCOUNT = "service_account", "Service account"
    OAUTH_CLIENT = "oauth_client", "OAuth client"
    WORKLOAD_IDENTITY = "workload_identity", "Workload identity"
    API_KEY = "api_key", "API key"
    USER_PASSWORD = "user_password", "User and password"


class IdentityStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    DISABLED = "disabled", "Disabled"


class FeatureStatus(models.TextChoices):
    """The feature's lifecycle: draft → in_review → approved → retired, plus the two detours."""

    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    RETIRED = "retired", "Retired"


class RegistrationStatus(models.TextChoices):
    """A version is a draft until submitted; after that it is immutable and only its outcome changes."""

    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    REJECTED = "rejected", "Rejected"
    SUPERSEDED = "superseded", "Superseded"
