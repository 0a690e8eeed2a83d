"""Submitting a registration (features/services.py: registration_submit): policy findings stored on the
version, audit events, the reviewers' email, and tier 0 approved as filed."""

import pytest

from features.choices import (
    ConsentBasis,
    DestinationKind,
    FeatureStatus,
    IdentityKind,
    RegistrationStatus,
    Sensitivity,
    SignalCategory,
    SignalOrigin,
    Tier,
)
from features.declaration import DeclarationInvalid, DestinationDeclaration, IdentityDeclaration, SignalDeclaration
from features.models import Finding, FindingSource, FindingStatus
from features.services import feature_create, registration_save_draft, registration_submit
from governance.accounts.models import Role
from governance.audit.chain import verify
from governance.audit.models import AuditEvent
from tests.factories import ServiceIdentityFactory, SignalFactory, UserFactory, catalogue_for, complete_declaration

pytestmark = pytest.mark.django_db

LOCALE = SignalDeclaration("locale", SignalOrigin.COLLECTED, "To pick the language.", 30)


def with_identity(name: str, **facts):
    ServiceIdentityFactory(name=name, **facts)
    return complete_declaration(identities=(IdentityDeclaration(name, ("profile:read",), "read"),))


def with_destination(kind: str, *, controls_before: bool = True):
    return complete_declaration(destinations=(DestinationDeclaration("reco-out", kind, ("locale",), controls_before),))


def purchase_history_at_tier_1():
    SignalFactory(key="purchase_history", sensitivity=Sensitivity.MEDIUM, category=SignalCategory.BEHAVIOUR)
    return complete_declaration(
        signals=(LOCALE, SignalDeclaration("purchase_history", SignalOrigin.COLLECTED, "Related products.", 90)),
        destinations=(
            DestinationDeclaration("reco-ranker", DestinationKind.RANKING, ("locale", "purchase_history"), True),
        ),
    )


DECLARATIONS = {
    "clean": (complete_declaration, []),
    "medium signal at tier 1": (purchase_history_at_tier_1, ["signal-exceeds-tier"]),
    "inferred signal at tier 1": (
        lambda: complete_declaration(signals=(SignalDeclaration("locale", SignalOrigin.INFERRED, "Guessed.", 30),)),
        ["inferred-signal"],
    ),
    "tier 2 on contract": (
        lambda: complete_declaration(requested_tier=Tier.ENRICHED, consent_basis=ConsentBasis.CONTRACT),
        ["consent-basis-insufficient"],
    ),
    "tier 3 without necessity": (
        lambda: complete_declaration(requested_tier=Tier.HIGH_TRUST, consent_basis=ConsentBasis.CONSENT),
        ["necessity-missing"],
    ),
    "secret on a wiki": (
        lambda: with_identity("wiki-reader", secret_location="https://wiki.example.test/reco"),
        ["secret-outside-manager"],
    ),
    "static api key": (lambda: with_identity("reco-key", kind=IdentityKind.API_KEY), ["long-lived-secret"]),
    "extra scope granted": (
        lambda: with_identity("reco-broad", granted_scopes=["profile:read", "orders:read"]),
        ["overprivileged-identity"],
    ),
    "third party at tier 1": (lambda: with_destination(DestinationKind.THIRD_PARTY), ["third-party-destination"]),
    "ranking before consent": (
        lambda: with_destination(DestinationKind.RANKING, controls_before=False),
        ["consent-after-destination"],
    ),
}


def create(owner, team, declaration, key="reco-locale"):
    catalogue_for(declaration)
    return feature_create(actor=owner, key=key, name="Reco locale", team=team, declaration=declaration)


@pytest.mark.parametrize(("make", "rule_ids"), DECLARATIONS.values(), ids=DECLARATIONS.keys())
def test_submitting_stores_the_policy_findings_on_the_version(owner, team, make, rule_ids):
    feature = create(owner, team, make())

    registration = registration_submit(actor=owner, feature=feature)

    findings = Finding.objects.filter(registration=registration)
    assert sorted(findings.values_list("rule_id", flat=True)) == rule_ids
    assert all(f.source == FindingSource.POLICY and f.status == FindingStatus.OPEN for f in findings)
    assert all(f.feature_id == feature.pk for f in findings)


def test_a_stored_finding_says_where_and_cites_its_references(owner, team):
    registration = registration_submit(actor=owner, feature=create(owner, team, purchase_history_at_tier_1()))

    finding = registration.findings.get()
    assert finding.path == "signals.1.signal"
    assert finding.severity == "critical"
    assert "GDPR Art. 5(1)(c) Data minimisation" in finding.references
    assert "purchase_history" in finding.message


def test_submitting_writes_the_audit_events_of_the_whole_filing(owner, team):
    feature = create(owner, team, complete_declaration())
    registration_save_draft(actor=owner, feature=feature, declaration=complete_declaration(retention_days=14))

    registration = registration_submit(actor=owner, feature=feature)

    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions[:4] == ["feature.created", "registration.created", "registration.edited", "registration.submitted"]
    submitted = AuditEvent.objects.get(action="registration.submitted")
    assert (submitted.actor, submitted.object_id) == (owner, str(registration.pk))
    assert submitted.payload["requested_tier"] == Tier.BASIC


def test_the_submission_event_lists_the_findings_opened(owner, team):
    registration_submit(actor=owner, feature=create(owner, team, purchase_history_at_tier_1()))

    event = AuditEvent.objects.get(action="registration.submitted")
    assert event.payload["findings"] == ["critical:signal-exceeds-tier:signals.1.signal"]


def test_the_audit_chain_verifies_after_a_submission(owner, team):
    registration_submit(actor=owner, feature=create(owner, team, purchase_history_at_tier_1()))

    result = verify()
    assert result.ok, result.problem
    assert result.checked == AuditEvent.objects.count() >= 3


def test_reviewers_are_emailed_on_submission(
    owner, team, reviewer, auditor, mailoutbox, django_capture_on_commit_callbacks
):
    second = UserFactory(username="second-reviewer", role=Role.REVIEWER)
    feature = create(owner, team, complete_declaration())

    with django_capture_on_commit_callbacks(execute=True):
        registration_submit(actor=owner, feature=feature)

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert sorted(mail.to) == sorted([reviewer.email, second.email])
    assert "Reco locale v1" in mail.subject
    assert "/reviews/reco-locale/v1/" in mail.body


def test_nobody_is_emailed_when_a_submission_fails(
    owner, team, reviewer, mailoutbox, django_capture_on_commit_callbacks
):
    feature = create(owner, team, complete_declaration(purpose=""))  # a draft may leave it blank

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(DeclarationInvalid, match="purpose"):
        registration_submit(actor=owner, feature=feature)

    assert mailoutbox == []


def tier_0(**overrides):
    """The non-personalised fallback: no signals, no identities, no destinations."""
    values = dict(
        explanation="Everyone sees the same best sellers.",
        requested_tier=Tier.NONE,
        signals=(),
        identities=(),
        destinations=(),
    )
    return complete_declaration(**(values | overrides))


def test_tier_0_without_signals_is_approved_as_filed(owner, team):
    registration = registration_submit(actor=owner, feature=create(owner, team, tier_0()))

    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.APPROVED
    assert registration.approved_tier == Tier.NONE
    assert registration.review_due_on is None
    registration.feature.refresh_from_db()
    assert registration.feature.status == FeatureStatus.APPROVED
    assert registration.feature.approved_registration == registration
    assert AuditEvent.objects.filter(action="registration.approved", actor=None).exists()


def test_tier_0_approved_as_filed_emails_no_reviewer(
    owner, team, reviewer, mailoutbox, django_capture_on_commit_callbacks
):
    feature = create(owner, team, tier_0())

    with django_capture_on_commit_callbacks(execute=True):
        registration_submit(actor=owner, feature=feature)

    assert mailoutbox == []


def test_tier_0_with_a_personal_signal_goes_to_review(
    owner, team, reviewer, mailoutbox, django_capture_on_commit_callbacks
):
    feature = create(owner, team, tier_0(signals=(LOCALE,)))

    with django_capture_on_commit_callbacks(execute=True):
        registration = registration_submit(actor=owner, feature=feature)

    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.SUBMITTED
    assert list(registration.findings.values_list("rule_id", flat=True)) == ["signal-exceeds-tier"]
    assert len(mailoutbox) == 1
