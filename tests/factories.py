"""factory_boy factories for the domain; tests declare data with these, not fixtures."""

import datetime

import factory
from django.utils import timezone

from features.choices import (
    DestinationKind,
    IdentityKind,
    Sensitivity,
    SignalCategory,
)
from features.declaration import (
    Declaration,
    DestinationDeclaration,
    IdentityDeclaration,
    SignalDeclaration,
)
from features.models import Feature, Registration, ServiceIdentity, Signal
from governance.accounts.models import Role, Team, User

PASSWORD = "correct-horse-battery-staple"


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ["slug"]

    slug = factory.Sequence(lambda n: f"team-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.test")
    role = Role.OWNER
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def teams(self, create, extracted, **kwargs):
        if create and extracted:
            self.teams.set(extracted)
        if create:
            self.save()


class SignalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Signal
        django_get_or_create = ["key"]

    key = factory.Sequence(lambda n: f"signal_{n}")
    name = factory.LazyAttribute(lambda o: o.key.replace("_", " "))
    category = SignalCategory.CONTEXT
    sensitivity = Sensitivity.LOW


class ServiceIdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceIdentity
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"svc-{n}")
    kind = IdentityKind.WORKLOAD_IDENTITY
    team = factory.SubFactory(TeamFactory)
    granted_scopes = factory.LazyFunction(lambda: ["profile:read"])
    credential_max_lifetime_days = 30
    last_rotated = factory.LazyFunction(lambda: timezone.now().date() - datetime.timedelta(days=5))
    secret_location = factory.LazyAttribute(lambda o: f"vault://kv/{o.name}")


class FeatureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Feature

    key = factory.Sequence(lambda n: f"feature-{n}")
    name = factory.LazyAttribute(lambda o: o.key.replace("-", " ").title())
    team = factory.SubFactory(TeamFactory)
    created_by = factory.SubFactory(UserFactory)


class RegistrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Registration

    feature = factory.SubFactory(FeatureFactory)
    version = 1
    created_by = factory.SelfAttribute("feature.created_by")


def complete_declaration(**overrides) -> Declaration:
    """A declaration that passes every check, using the `locale` signal and the `reco-reader` identity.

    Call `catalogue_for(declaration)` first so the signals and identities it names exist.
    """
    values = dict(
        explanation="We order products by the language you browse in.",
        purpose="Show products in the shopper's language first on the home page.",
        requested_tier=1,
        consent_basis="contract",
        consent_mechanism="Terms of service, section 4",
        retention_days=30,
        opt_out="Settings › Personalisation › off; the feature flag reco-locale switches it off.",
        signals=(SignalDeclaration("locale", "collected", "To pick the language.", 30),),
        identities=(IdentityDeclaration("reco-reader", ("profile:read",), "read"),),
        destinations=(DestinationDeclaration("reco-ranker", DestinationKind.RANKING, ("locale",), True),),
    )
    values.update(overrides)
    return Declaration(**values)


def catalogue_for(declaration: Declaration) -> None:
    """Create every signal and identity the declaration names, so it refers to a real catalogue."""
    for row in declaration.signals:
        SignalFactory(key=row.signal)
    for row in declaration.identities:
        ServiceIdentityFactory(name=row.identity)


REGISTRATION_SECTIONS = ("signals", "identities", "destinations")


def form_data(declaration: dict, action: str = "save") -> dict:
    """The registration page's POST for `declaration`, as a browser sends it."""
    data = {
        name: "" if value is None else str(value)
        for name, value in declaration.items()
        if name not in REGISTRATION_SECTIONS
    }
    data["action"] = action
    for section in REGISTRATION_SECTIONS:
        rows = declaration[section]
        data[f"{section}-TOTAL_FORMS"], data[f"{section}-INITIAL_FORMS"] = str(len(rows)), "0"
        for index, row in enumerate(rows):
            for name, value in row.items():
                key = f"{section}-{index}-{name}"
                if name == "scopes":
                    data[key] = ", ".join(value)
                elif name == "controls_before":
                    if value:
                        data[key] = "on"
                elif isinstance(value, list):
                    data[key] = value  # a multiple select: one value per item
                else:
                    data[key] = "" if value is None else str(value)
    return data
