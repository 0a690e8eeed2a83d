"""Writes to the registry (features/services.py) and the lifecycle they move (features/lifecycle.py)."""

import itertools

import pytest

from features.choices import DestinationKind, FeatureStatus, RegistrationStatus
from features.declaration import (
    DeclarationInvalid,
    DestinationDeclaration,
    SignalDeclaration,
    declaration_of,
)
from features.lifecycle import FEATURE_TRANSITIONS, TransitionNotAllowed, check_transition
from features.models import DeclaredDestination, DeclaredIdentity, DeclaredSignal, Feature, Registration
from features.services import (
    NotAllowed,
    RegistrationLocked,
    feature_create,
    feature_retire,
    registration_save_draft,
    registration_submit,
)
from tests.factories import FeatureFactory, SignalFactory, catalogue_for, complete_declaration

pytestmark = pytest.mark.django_db

HISTORY = SignalDeclaration("purchase_history", "collected", "To suggest related products.", 90)
NOT_EDITORS = ["other_owner", "reviewer", "auditor", "administrator"]


@pytest.fixture
def declaration():
    declaration = complete_declaration()
    catalogue_for(declaration)
    SignalFactory(key="purchase_history")
    return declaration


@pytest.fixture
def changed(declaration):
    """The declaration after the owner adds purchase history and sends it to the ranker too."""
    return complete_declaration(
        explanation="We order products by your language and what you bought before.",
        requested_tier=2,
        consent_basis="consent",
        signals=(*declaration.signals, HISTORY),
        destinations=(
            DestinationDeclaration("reco-ranker", DestinationKind.RANKING, ("locale", "purchase_history"), True),
        ),
    )


@pytest.fixture
def feature(owner, team, declaration):
    return feature_create(actor=owner, key="reco-locale", name="Reco locale", team=team, declaration=declaration)


@pytest.fixture
def submitted(owner, feature):
    registration_submit(actor=owner, feature=feature)
    feature.refresh_from_db()
    return feature


def invalid():
    """A declaration validation refuses even as a draft (two sentences, an unknown signal)."""
    return complete_declaration(
        explanation="We rank by language. And by region.",
        signals=(SignalDeclaration("heart_rate", "collected", "Calm music.", 7),),
        destinations=(),
    )


def stored_rows() -> tuple[int, int, int, int]:
    return (
        Registration.objects.count(),
        DeclaredSignal.objects.count(),
        DeclaredIdentity.objects.count(),
        DeclaredDestination.objects.count(),
    )


# --- feature_create --------------------------------------------------------------------------------


def test_create_makes_the_feature_in_draft(feature, team, owner):
    assert (feature.key, feature.name, feature.team, feature.status) == (
        "reco-locale",
        "Reco locale",
        team,
        FeatureStatus.DRAFT,
    )
    assert feature.created_by == owner


def test_create_makes_draft_version_one_holding_the_declaration(feature, declaration, owner):
    registration = feature.versions.get()
    assert (registration.version, registration.status, registration.created_by) == (
        1,
        RegistrationStatus.DRAFT,
        owner,
    )
    assert declaration_of(registration) == declaration


@pytest.mark.parametrize("key", ["Reco Locale", "Reco-locale", "reco/locale", "reco.locale", "", "   "])
def test_create_refuses_a_key_that_is_not_a_slug(owner, team, declaration, key):
    with pytest.raises(DeclarationInvalid) as refused:
        feature_create(actor=owner, key=key, name="Reco locale", team=team, declaration=declaration)
    assert list(refused.value.errors) == ["key"]
    assert not Feature.objects.exists()


def test_create_refuses_a_key_already_taken(owner, team, declaration, feature):
    with pytest.raises(DeclarationInvalid) as refused:
        feature_create(actor=owner, key="reco-locale", name="Another", team=team, declaration=declaration)
    assert refused.value.errors == {"key": ["A feature with the key reco-locale already exists."]}
    assert Feature.objects.count() == 1


def test_create_refuses_a_team_the_actor_is_not_in(owner, other_team, declaration):
    with pytest.raises(DeclarationInvalid) as refused:
        feature_create(actor=owner, key="reco-locale", name="Reco", team=other_team, declaration=declaration)
    assert refused.value.errors == {"team": ["Choose one of your teams."]}
    assert not Feature.objects.exists()


def test_create_refuses_a_reviewer_even_in_the_team(reviewer, team, declaration):
    reviewer.teams.add(team)
    with pytest.raises(DeclarationInvalid) as refused:
        feature_create(actor=reviewer, key="reco-locale", name="Reco", team=team, declaration=declaration)
    assert list(refused.value.errors) == ["team"]


def test_create_refuses_an_invalid_declaration_and_stores_nothing(owner, team, declaration):
    with pytest.raises(DeclarationInvalid) as refused:
        feature_create(actor=owner, key="reco-locale", name="Reco", team=team, declaration=invalid())
    assert set(refused.value.errors) == {"explanation", "signals.0.signal"}
    assert not Feature.objects.exists()
    assert stored_rows() == (0, 0, 0, 0)


# --- registration_save_draft -----------------------------------------------------------------------


def test_saving_a_draft_updates_version_one_in_place(owner, feature, changed):
    draft = feature.versions.get()
    saved = registration_save_draft(actor=owner, feature=feature, declaration=changed)
    assert (saved.pk, saved.version, saved.status) == (draft.pk, 1, RegistrationStatus.DRAFT)
    assert feature.versions.count() == 1


def test_saving_a_draft_replaces_its_rows(owner, feature, changed):
    registration_save_draft(actor=owner, feature=feature, declaration=changed)
    assert declaration_of(feature.versions.get()) == changed
    assert DeclaredSignal.objects.count() == 2
    assert DeclaredDestination.objects.count() == 1


def test_saving_a_draft_with_fewer_rows_removes_the_others(owner, feature, declaration):
    registration_save_draft(
        actor=owner, feature=feature, declaration=complete_declaration(identities=(), destinations=())
    )
    assert (DeclaredIdentity.objects.count(), DeclaredDestination.objects.count()) == (0, 0)


def test_saving_after_submit_creates_draft_version_two_based_on_version_one(owner, submitted, changed):
    saved = registration_save_draft(actor=owner, feature=submitted, declaration=changed)
    first = submitted.versions.get(version=1)
    assert (saved.version, saved.status, saved.based_on) == (2, RegistrationStatus.DRAFT, first)


def test_version_two_holds_the_declaration_given(owner, submitted, changed):
    saved = registration_save_draft(actor=owner, feature=submitted, declaration=changed)
    assert declaration_of(saved) == changed


def test_saving_after_submit_leaves_version_one_unchanged(owner, submitted, declaration, changed):
    first = submitted.versions.get(version=1)
    before = declaration_of(first)
    registration_save_draft(actor=owner, feature=submitted, declaration=changed)
    first.refresh_from_db()
    assert declaration_of(first) == before == declaration
    assert first.status == RegistrationStatus.SUBMITTED


def test_saving_twice_after_submit_keeps_editing_version_two(owner, submitted, changed, declaration):
    registration_save_draft(actor=owner, feature=submitted, declaration=changed)
    again = registration_save_draft(actor=owner, feature=submitted, declaration=declaration)
    assert again.version == 2
    assert submitted.versions.count() == 2


def test_a_refused_save_changes_nothing_in_the_database(owner, feature, declaration):
    rows = stored_rows()
    with pytest.raises(DeclarationInvalid):
        registration_save_draft(actor=owner, feature=feature, declaration=invalid())
    assert stored_rows() == rows
    assert declaration_of(feature.versions.get()) == declaration


def test_a_refused_save_after_submit_creates_no_new_version(owner, submitted):
    with pytest.raises(DeclarationInvalid):
        registration_save_draft(actor=owner, feature=submitted, declaration=invalid())
    assert submitted.versions.count() == 1


def test_a_retired_feature_refuses_new_drafts(owner, feature, declaration):
    feature_retire(actor=owner, feature=feature)
    with pytest.raises(RegistrationLocked):
        registration_save_draft(actor=owner, feature=feature, declaration=declaration)


# --- registration_submit ---------------------------------------------------------------------------


def test_submit_moves_the_feature_to_in_review(owner, feature):
    registration_submit(actor=owner, feature=feature)
    feature.refresh_from_db()
    assert feature.status == FeatureStatus.IN_REVIEW


def test_submit_marks_the_version_submitted_by_the_actor(owner, feature):
    registration = registration_submit(actor=owner, feature=feature)
    registration.refresh_from_db()
    assert (registration.status, registration.submitted_by) == (RegistrationStatus.SUBMITTED, owner)
    assert registration.submitted_at is not None


def test_submit_saves_the_declaration_given_first(owner, feature, changed):
    registration = registration_submit(actor=owner, feature=feature, declaration=changed)
    assert (registration.version, declaration_of(registration)) == (1, changed)


def test_submit_refuses_an_incomplete_draft(owner, team, declaration):
    feature = feature_create(
        actor=owner,
        key="reco",
        name="Reco",
        team=team,
        declaration=complete_declaration(purpose="", opt_out=""),
    )
    with pytest.raises(DeclarationInvalid) as refused:
        registration_submit(actor=owner, feature=feature)
    assert set(refused.value.errors) == {"purpose", "opt_out"}


def test_a_refused_submit_leaves_the_statuses_unchanged(owner, team, declaration):
    feature = feature_create(
        actor=owner, key="reco", name="Reco", team=team, declaration=complete_declaration(purpose="")
    )
    with pytest.raises(DeclarationInvalid):
        registration_submit(actor=owner, feature=feature)
    feature.refresh_from_db()
    registration = feature.versions.get()
    assert (feature.status, registration.status) == (FeatureStatus.DRAFT, RegistrationStatus.DRAFT)
    assert (registration.submitted_by, registration.submitted_at) == (None, None)


def test_a_refused_submit_with_a_declaration_does_not_save_it(owner, feature, declaration):
    with pytest.raises(DeclarationInvalid):
        registration_submit(actor=owner, feature=feature, declaration=complete_declaration(purpose=""))
    assert declaration_of(feature.versions.get()) == declaration


def test_submit_without_a_draft_is_locked(owner, submitted):
    with pytest.raises(RegistrationLocked):
        registration_submit(actor=owner, feature=submitted)


def test_submit_of_a_feature_without_versions_is_locked(owner, team):
    feature = FeatureFactory(team=team, created_by=owner)
    with pytest.raises(RegistrationLocked):
        registration_submit(actor=owner, feature=feature)


def test_submit_while_a_version_is_in_review_is_refused(owner, submitted, changed):
    with pytest.raises(TransitionNotAllowed):
        registration_submit(actor=owner, feature=submitted, declaration=changed)
    assert submitted.versions.count() == 1


# --- who may write ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", NOT_EDITORS)
def test_only_owners_in_the_team_may_save_a_draft(request, feature, changed, declaration, role):
    actor = request.getfixturevalue(role)
    with pytest.raises(NotAllowed):
        registration_save_draft(actor=actor, feature=feature, declaration=changed)
    assert declaration_of(feature.versions.get()) == declaration


@pytest.mark.parametrize("role", NOT_EDITORS)
def test_only_owners_in_the_team_may_submit(request, feature, role):
    actor = request.getfixturevalue(role)
    with pytest.raises(NotAllowed):
        registration_submit(actor=actor, feature=feature)
    feature.refresh_from_db()
    assert feature.status == FeatureStatus.DRAFT


@pytest.mark.parametrize("role", NOT_EDITORS)
def test_only_owners_in_the_team_may_retire(request, feature, role):
    actor = request.getfixturevalue(role)
    with pytest.raises(NotAllowed):
        feature_retire(actor=actor, feature=feature)


# --- feature_retire and the lifecycle --------------------------------------------------------------


@pytest.mark.parametrize(
    "status",
    [FeatureStatus.DRAFT, FeatureStatus.CHANGES_REQUESTED, FeatureStatus.APPROVED, FeatureStatus.REJECTED],
)
def test_retire_retires_a_feature_that_is_not_in_review(owner, feature, status):
    Feature.objects.filter(pk=feature.pk).update(status=status)
    feature_retire(actor=owner, feature=feature)
    feature.refresh_from_db()
    assert feature.status == FeatureStatus.RETIRED


@pytest.mark.parametrize("status", [FeatureStatus.IN_REVIEW, FeatureStatus.RETIRED])
def test_retire_refuses_a_feature_in_review_or_retired(owner, feature, status):
    Feature.objects.filter(pk=feature.pk).update(status=status)
    with pytest.raises(TransitionNotAllowed):
        feature_retire(actor=owner, feature=feature)
    feature.refresh_from_db()
    assert feature.status == status


def test_submitting_a_retired_feature_is_refused(owner, feature):
    feature_retire(actor=owner, feature=feature)
    with pytest.raises(TransitionNotAllowed):
        registration_submit(actor=owner, feature=feature)


ALLOWED = [(current, target) for current, targets in FEATURE_TRANSITIONS.items() for target in targets]
FORBIDDEN = [
    (current, target)
    for current, target in itertools.product(FeatureStatus.values, repeat=2)
    if (current, target) not in ALLOWED
]


@pytest.mark.parametrize(("current", "target"), FORBIDDEN, ids=[f"{c}->{t}" for c, t in FORBIDDEN])
def test_forbidden_transition_is_refused(current, target):
    with pytest.raises(TransitionNotAllowed):
        check_transition(current, target)


@pytest.mark.parametrize(("current", "target"), ALLOWED, ids=[f"{c}->{t}" for c, t in ALLOWED])
def test_allowed_transition_passes(current, target):
    check_transition(current, target)


def test_every_status_has_a_row_in_the_transition_table():
    assert set(FEATURE_TRANSITIONS) == set(FeatureStatus.values)


def test_forbidden_transition_message_names_both_statuses():
    with pytest.raises(TransitionNotAllowed, match="retired cannot become in review"):
        check_transition(FeatureStatus.RETIRED, FeatureStatus.IN_REVIEW)
