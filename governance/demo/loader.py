"""Loading the demo: the data of `features.demo`, filed, reviewed and retired through the real services.

The owners file and submit through `features.services` (so the policy engine stores each version's
findings, and tier 0 is approved on submission); the reviewers accept findings and decide through
`governance.reviews.services`, with their segregation of duties and the two approvals tier 3 needs; every
step leaves its audit event. This module sits on top of the workflow apps because it drives them all.
Then the features' services report thirty days of telemetry (`governance.demo.telemetry`), judged by a
drift sweep. Loading twice changes nothing; the passwords are for development only.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from features.demo import FEATURES, IDENTITIES, LOGINS, SIGNALS, TEAMS, Accept, Decide, DemoFeature, DemoLogin
from features.models import Feature, FindingStatus, Registration, ServiceIdentity, Signal
from features.services import feature_create, feature_retire, registration_save_draft, registration_submit
from governance.accounts.models import Team, User
from governance.demo.telemetry import load_demo_telemetry
from governance.reviews.services import finding_accept, review_decide


class DemoNotLoaded(Exception):
    """The demo cannot be loaded here (production, or a database that already holds clashing data)."""


@dataclass
class DemoSummary:
    """What `load_demo` did, and the logins to print."""

    loaded: bool
    logins: tuple[DemoLogin, ...] = LOGINS
    counts: dict[str, int] = field(default_factory=dict)


def _present() -> dict[str, set[str]]:
    """The demo's names that already exist, by kind."""
    demo_names = {
        "users": (User.objects, "username", {login.username for login in LOGINS}),
        "teams": (Team.objects, "slug", set(TEAMS)),
        "signals": (Signal.objects, "key", {row[0] for row in SIGNALS}),
        "identities": (ServiceIdentity.objects, "name", {identity.name for identity in IDENTITIES}),
        "features": (Feature.objects, "key", {feature.key for feature in FEATURES}),
    }
    return {
        kind: set(manager.filter(**{f"{name}__in": names}).values_list(name, flat=True))
        for kind, (manager, name, names) in demo_names.items()
    }


def _is_loaded(present: dict[str, set[str]]) -> bool:
    expected = {
        "users": LOGINS,
        "teams": TEAMS,
        "signals": SIGNALS,
        "identities": IDENTITIES,
        "features": FEATURES,
    }
    return all(len(present[kind]) == len(rows) for kind, rows in expected.items())


def _counts() -> dict[str, int]:
    return {
        "teams": Team.objects.count(),
        "users": User.objects.count(),
        "signals": Signal.objects.count(),
        "identities": ServiceIdentity.objects.count(),
        "features": Feature.objects.count(),
    }


def load_demo() -> DemoSummary:
    """Load the demo into an empty database; if it is already loaded, change nothing.

    The demo's people are fictitious (example.test), so the emails its story would send to reviewers
    and owners go nowhere.
    """
    if getattr(settings, "PRODUCTION", False):
        raise DemoNotLoaded("The demo has published passwords: it is never loaded with APP_ENV=production.")
    with override_settings(MAILERS={"default": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"}}):
        return _load()


@transaction.atomic
def _load() -> DemoSummary:
    present = _present()
    if _is_loaded(present):
        return DemoSummary(loaded=False, counts=_counts())
    clashes = {kind: names for kind, names in present.items() if names}
    if clashes:
        listed = "; ".join(f"{kind}: {', '.join(sorted(names))}" for kind, names in clashes.items())
        raise DemoNotLoaded(
            f"The database already holds part of the demo or clashing data ({listed}). "
            "Load the demo into an empty database."
        )

    teams = {slug: Team.objects.create(slug=slug, name=name) for slug, name in TEAMS.items()}
    users = {login.username: _create_login(login, teams) for login in LOGINS}
    Signal.objects.bulk_create(
        Signal(key=key, name=name, category=category, sensitivity=sensitivity, description=description)
        for key, name, category, sensitivity, description in SIGNALS
    )
    today = timezone.localdate()
    ServiceIdentity.objects.bulk_create(
        ServiceIdentity(
            name=identity.name,
            kind=identity.kind,
            team=teams[identity.team] if identity.team else None,
            granted_scopes=list(identity.granted_scopes),
            credential_max_lifetime_days=identity.credential_max_lifetime_days,
            last_rotated=(
                today - datetime.timedelta(days=identity.rotated_days_ago)
                if identity.rotated_days_ago is not None
                else None
            ),
            secret_location=identity.secret_location,
            status=identity.status,
            description=identity.description,
        )
        for identity in IDENTITIES
    )
    for demo in FEATURES:
        _file_feature(demo, users=users, team=teams[demo.team])
    observations = load_demo_telemetry(users["admin"])
    return DemoSummary(loaded=True, counts=_counts() | {"observations": observations})


def _create_login(login: DemoLogin, teams: dict[str, Team]) -> User:
    user = User.objects.create_user(
        username=login.username,
        password=login.password,
        email=f"{login.username}@example.test",
        first_name=login.first_name,
        last_name=login.last_name,
        role=login.role,
        is_staff=login.is_superuser,
        is_superuser=login.is_superuser,
    )
    user.teams.set([teams[slug] for slug in login.teams])
    return user


def _file_feature(demo: DemoFeature, *, users: dict[str, User], team: Team) -> Feature:
    """File the feature's versions as its owner would, have the reviewers review each, retire it if asked."""
    owner = users[demo.owner]
    first = demo.versions[0]
    feature = feature_create(actor=owner, key=demo.key, name=demo.name, team=team, declaration=first.declaration)
    for version in demo.versions:
        if version is not first:
            registration_save_draft(actor=owner, feature=feature, declaration=version.declaration)
        if not version.submit:
            continue
        registration = registration_submit(actor=owner, feature=feature)
        for step in version.review:
            _review(step, registration, users)
    if demo.retire:
        feature_retire(actor=owner, feature=feature)
    feature.refresh_from_db()
    if feature.status != demo.status:
        raise DemoNotLoaded(f"The demo's {demo.key} ended {feature.status}, not {demo.status}: fix its story.")
    return feature


def _review(step: Accept | Decide, registration: Registration, users: dict[str, User]) -> None:
    reviewer = users[step.reviewer]
    if isinstance(step, Accept):
        finding = registration.findings.get(rule_id=step.rule_id, status=FindingStatus.OPEN)
        until = timezone.localdate() + datetime.timedelta(days=step.days)
        finding_accept(actor=reviewer, finding=finding, reason=step.reason, until=until)
    else:
        review_decide(
            actor=reviewer,
            registration=registration,
            outcome=step.outcome,
            tier=step.tier,
            conditions=step.conditions,
            comment=step.comment,
        )
