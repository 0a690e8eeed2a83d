"""Re-checking versions in review when the identity inventory or the signal catalogue changes
(features/services.py: catalogue_entry_saved, registrations_reevaluate; features/admin.py)."""

import datetime

import pytest
from django.utils import timezone

from features.choices import RegistrationStatus, Sensitivity
from features.models import Finding, FindingStatus, Outcome, ServiceIdentity, Signal
from features.services import (
    catalogue_entry_saved,
    feature_create,
    registration_submit,
    registrations_reevaluate,
)
from governance.audit.models import AuditEvent
from governance.reviews.services import finding_accept, review_decide
from tests.factories import ServiceIdentityFactory, catalogue_for, complete_declaration

pytestmark = pytest.mark.django_db

OVERPRIVILEGED = "overprivileged-identity"


def create(owner, team, key):
    declaration = complete_declaration()
    catalogue_for(declaration)
    return feature_create(actor=owner, key=key, name=key.replace("-", " ").title(), team=team, declaration=declaration)


@pytest.fixture
def identity(db):
    return ServiceIdentityFactory(name="reco-reader", granted_scopes=["profile:read"])


@pytest.fixture
def in_review(owner, team, identity):
    """Version 1 of reco-locale, in review, declaring reco-reader with the scope it holds (clean)."""
    return registration_submit(actor=owner, feature=create(owner, team, "reco-locale"))


def grant(actor, identity: ServiceIdentity, scopes: list[str], django_capture_on_commit_callbacks) -> None:
    """What an administrator's save does: store the change, then tell the registry about it."""
    identity.granted_scopes = scopes
    identity.save()
    with django_capture_on_commit_callbacks(execute=True):
        catalogue_entry_saved(actor=actor, entry=identity, created=False)


def overprivileged(registration) -> Finding | None:
    return Finding.objects.filter(registration=registration, rule_id=OVERPRIVILEGED).first()


def test_granting_an_identity_more_scopes_opens_a_finding_on_versions_in_review(
    administrator, identity, in_review, django_capture_on_commit_callbacks
):
    grant(administrator, identity, ["profile:read", "orders:read"], django_capture_on_commit_callbacks)

    finding = overprivileged(in_review)
    assert finding is not None
    assert finding.status == FindingStatus.OPEN
    assert "orders:read" in finding.message


def test_the_re_check_is_audited_with_what_it_opened(
    administrator, identity, in_review, django_capture_on_commit_callbacks
):
    grant(administrator, identity, ["profile:read", "orders:read"], django_capture_on_commit_callbacks)

    event = AuditEvent.objects.get(action="registration.reevaluated")
    assert event.object_id == str(in_review.pk)
    assert event.payload["opened"] == [f"{OVERPRIVILEGED}:identities.0.scopes"]


def test_removing_the_extra_scope_resolves_the_finding(
    administrator, identity, in_review, django_capture_on_commit_callbacks
):
    grant(administrator, identity, ["profile:read", "orders:read"], django_capture_on_commit_callbacks)

    grant(administrator, identity, ["profile:read"], django_capture_on_commit_callbacks)

    finding = overprivileged(in_review)
    assert finding.status == FindingStatus.RESOLVED
    assert finding.resolved_at is not None


def test_versions_not_in_review_are_left_as_they_are(
    owner, team, reviewer, administrator, identity, django_capture_on_commit_callbacks
):
    approved = registration_submit(actor=owner, feature=create(owner, team, "reco-approved"))
    review_decide(actor=reviewer, registration=approved, outcome=Outcome.APPROVE, tier=1)
    sent_back = registration_submit(actor=owner, feature=create(owner, team, "reco-sent-back"))
    review_decide(actor=reviewer, registration=sent_back, outcome=Outcome.REQUEST_CHANGES, comment="Shorter.")
    draft = create(owner, team, "reco-draft").versions.get()
    before = list(Finding.objects.order_by("pk").values_list("pk", "status", "message"))

    grant(administrator, identity, ["profile:read", "orders:read"], django_capture_on_commit_callbacks)

    assert list(Finding.objects.order_by("pk").values_list("pk", "status", "message")) == before
    assert not Finding.objects.filter(registration__in=[approved, sent_back, draft]).exists()
    assert not AuditEvent.objects.filter(action="registration.reevaluated").exists()
    approved.refresh_from_db()
    assert approved.status == RegistrationStatus.APPROVED


def test_only_versions_declaring_the_changed_identity_are_re_checked(owner, team, identity, in_review):
    other = ServiceIdentityFactory(name="search-reader")

    assert registrations_reevaluate(identity_ids=[other.pk]) == 0
    assert registrations_reevaluate(identity_ids=[identity.pk]) == 1


def test_the_identity_change_is_audited(administrator, identity, in_review, django_capture_on_commit_callbacks):
    grant(administrator, identity, ["profile:read", "orders:read"], django_capture_on_commit_callbacks)

    event = AuditEvent.objects.get(action="identity.changed")
    assert event.actor == administrator
    assert event.object_id == str(identity.pk)
    assert event.payload["granted_scopes"] == ["profile:read", "orders:read"]


def test_an_accepted_finding_stays_accepted_after_a_re_check(
    owner, team, reviewer, administrator, identity, django_capture_on_commit_callbacks
):
    identity.granted_scopes = ["profile:read", "orders:read"]
    identity.save()
    registration = registration_submit(actor=owner, feature=create(owner, team, "reco-locale"))
    until = timezone.localdate() + datetime.timedelta(days=30)
    finding_accept(actor=reviewer, finding=overprivileged(registration), reason="Revoked next sprint.", until=until)

    grant(administrator, identity, ["profile:read", "orders:read", "cart:read"], django_capture_on_commit_callbacks)

    finding = overprivileged(registration)
    assert (finding.status, finding.accepted_until) == (FindingStatus.ACCEPTED, until)
    assert "cart:read" in finding.message  # the wording follows the new verdict


def test_making_a_signal_more_sensitive_re_checks_versions_in_review(
    administrator, in_review, django_capture_on_commit_callbacks
):
    locale = Signal.objects.get(key="locale")
    locale.sensitivity = Sensitivity.MEDIUM
    locale.save()

    with django_capture_on_commit_callbacks(execute=True):
        catalogue_entry_saved(actor=administrator, entry=locale, created=False)

    assert Finding.objects.get(registration=in_review).rule_id == "signal-exceeds-tier"
    assert AuditEvent.objects.filter(action="signal.changed", actor=administrator).exists()


def admin_form(identity: ServiceIdentity, **changes) -> dict:
    values = {
        "name": identity.name,
        "kind": identity.kind,
        "team": identity.team_id,
        "granted_scopes": '["profile:read"]',
        "credential_max_lifetime_days": identity.credential_max_lifetime_days,
        "last_rotated": identity.last_rotated.isoformat(),
        "secret_location": identity.secret_location,
        "status": identity.status,
        "description": "",
        "_save": "Save",
    }
    return values | changes


def test_an_administrator_changing_scopes_in_the_admin_re_checks_versions_in_review(
    client, administrator, identity, in_review, django_capture_on_commit_callbacks
):
    client.force_login(administrator)
    url = f"/admin/features/serviceidentity/{identity.pk}/change/"

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, admin_form(identity, granted_scopes='["profile:read", "orders:read"]'))

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    identity.refresh_from_db()
    assert identity.granted_scopes == ["profile:read", "orders:read"]
    assert overprivileged(in_review).status == FindingStatus.OPEN
    assert AuditEvent.objects.filter(action="identity.changed", actor=administrator).exists()


def test_an_administrator_narrowing_scopes_in_the_admin_resolves_the_finding(
    client, administrator, identity, in_review, django_capture_on_commit_callbacks
):
    client.force_login(administrator)
    url = f"/admin/features/serviceidentity/{identity.pk}/change/"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, admin_form(identity, granted_scopes='["profile:read", "orders:read"]'))

    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, admin_form(identity))

    assert overprivileged(in_review).status == FindingStatus.RESOLVED


ADMIN_SECRET = "AKIA" + "IOSFODNN7EXAMPLE"


@pytest.mark.parametrize(
    "field, value",
    [("secret_location", ADMIN_SECRET), ("granted_scopes", f'["profile:read", "{ADMIN_SECRET}"]')],
    ids=["text", "list"],
)
def test_admin_refuses_a_secret_pasted_into_the_inventory_and_records_nothing(client, administrator, field, value):
    from features.models import ServiceIdentity
    from governance.audit.models import AuditEvent

    client.force_login(administrator)
    secret = ADMIN_SECRET
    response = client.post(
        "/admin/features/serviceidentity/add/",
        {
            "name": "leaky",
            "kind": "api_key",
            "granted_scopes": "[]",
            "credential_max_lifetime_days": "30",
            "secret_location": "",
            "status": "active",
        }
        | {field: value},
    )
    assert response.status_code == 200
    assert "looks like a secret" in response.content.decode()
    assert secret not in response.content.decode()
    assert not ServiceIdentity.objects.filter(name="leaky").exists()
    assert not any(secret in str(event.payload) for event in AuditEvent.objects.all())
