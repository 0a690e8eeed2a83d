"""The admin site's walk: every route under admin/ × every role → the status that role gets.

Administrators manage teams, users, the signal catalogue and the identity inventory there. The audit trail,
features and registrations are shown read-only: they change only through the app's own workflows (the
audit trail never), so adding, changing or deleting them is refused even to an administrator (403).
Everybody else is sent to log in (302), whatever they ask for. A new admin route without a row here fails
`test_every_admin_route_is_in_the_table`.
"""

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType

from features.models import Feature, ServiceIdentity, Signal
from features.services import feature_create
from governance.audit.models import AuditEvent
from tests.factories import catalogue_for, complete_declaration
from tests.permissions import Visit, assert_denial_logged, expect, known_routes

LOGIN = 302  # to the admin's login page (or the app's, for an anonymous visitor)
ADMIN = expect(LOGIN, administrator=200)
ADMIN_REFUSED = expect(LOGIN, administrator=403)
ADMIN_ONLY_POST = expect(LOGIN, administrator=405)
OBJECT = "<path:object_id>"


def model_rows(path: str, obj: str, *, read_only: bool) -> list[Visit]:
    """The six routes of one registered model. `read_only`: the admin shows it but may not change it."""
    writes = ADMIN_REFUSED if read_only else ADMIN
    change_post = ADMIN_REFUSED if read_only else ADMIN  # an empty POST re-shows the form with its errors
    base, url = f"admin/{path}/", f"/admin/{path}/"
    return [
        Visit(base, "get", url, ADMIN),
        Visit(base, "post", url, ADMIN),  # no action chosen: the list again
        Visit(f"{base}add/", "get", f"{url}add/", writes),
        Visit(f"{base}add/", "post", f"{url}add/", writes),
        Visit(f"{base}{OBJECT}/history/", "get", f"{url}{{{obj}}}/history/", ADMIN),
        Visit(f"{base}{OBJECT}/delete/", "get", f"{url}{{{obj}}}/delete/", writes),
        # Without "post=yes" a delete POST asks for confirmation again: nothing is deleted by the walk.
        Visit(f"{base}{OBJECT}/delete/", "post", f"{url}{{{obj}}}/delete/", writes),
        Visit(f"{base}{OBJECT}/change/", "get", f"{url}{{{obj}}}/change/", ADMIN),  # read-only: a view page
        Visit(f"{base}{OBJECT}/change/", "post", f"{url}{{{obj}}}/change/", change_post),
        Visit(f"{base}{OBJECT}/", "get", f"{url}{{{obj}}}/", expect(LOGIN)),  # to …/change/
    ]


ADMIN_VISITS = [
    Visit("admin/", "get", "/admin/", ADMIN),
    Visit("admin/login/", "get", "/admin/login/", expect(200, administrator=LOGIN)),  # an admin is sent on
    Visit("admin/logout/", "get", "/admin/logout/", expect(LOGIN, administrator=405)),
    Visit("admin/logout/", "post", "/admin/logout/", expect(LOGIN)),
    Visit("admin/password_change/", "get", "/admin/password_change/", ADMIN),
    Visit("admin/password_change/", "post", "/admin/password_change/", ADMIN),  # the form, with errors
    Visit("admin/password_change/done/", "get", "/admin/password_change/done/", ADMIN),
    Visit("admin/autocomplete/", "get", "/admin/autocomplete/", ADMIN_REFUSED),  # no field named
    Visit("admin/jsi18n/", "get", "/admin/jsi18n/", ADMIN),
    # Features have no public page of their own to "view on site".
    Visit(
        "admin/r/<path:content_type_id>/<path:object_id>/",
        "get",
        "/admin/r/{feature_type}/{feature}/",
        expect(LOGIN, administrator=404),
    ),
    Visit("admin/^(?P<app_label>auth|accounts|audit|features)/$", "get", "/admin/features/", ADMIN),
    Visit("admin/(?P<url>.*)$", "get", "/admin/no-such-page/", expect(LOGIN, administrator=404)),
    Visit("admin/accounts/user/<id>/password/", "get", "/admin/accounts/user/{user}/password/", ADMIN),
    Visit("admin/accounts/user/<id>/password/", "post", "/admin/accounts/user/{user}/password/", ADMIN),
    *model_rows("auth/group", "group", read_only=False),
    *model_rows("accounts/team", "team", read_only=False),
    *model_rows("accounts/user", "user", read_only=False),
    *model_rows("features/signal", "signal", read_only=False),
    *model_rows("features/serviceidentity", "identity", read_only=False),
    *model_rows("audit/auditevent", "audit_event", read_only=True),
    *model_rows("features/feature", "feature", read_only=True),
    *model_rows("features/registration", "registration", read_only=True),
]


@pytest.fixture
def objects(owner, team):
    declaration = complete_declaration()
    catalogue_for(declaration)
    feature = feature_create(actor=owner, key="reco-locale", name="Locale ordering", team=team, declaration=declaration)
    return {
        "group": Group.objects.create(name="walkers").pk,
        "team": team.pk,
        "user": owner.pk,
        "signal": Signal.objects.first().pk,
        "identity": ServiceIdentity.objects.first().pk,
        "audit_event": AuditEvent.objects.first().pk,
        "feature": feature.pk,
        "feature_type": ContentType.objects.get_for_model(Feature).pk,
        "registration": feature.versions.get().pk,
    }


def test_every_admin_route_is_in_the_table():
    admin_routes = {route for route in known_routes(ignore_namespaces=()) if route.startswith("admin/")}
    assert admin_routes - {visit.route for visit in ADMIN_VISITS} == set()


@pytest.mark.parametrize("visit", ADMIN_VISITS, ids=lambda v: f"{v.method.upper()} {v.url}")
@pytest.mark.parametrize("role", ["owner", "other_owner", "reviewer", "auditor", "administrator", "anonymous"])
def test_role_gets_expected_status_in_the_admin(client, caplog, people, objects, visit, role):
    if people[role] is not None:
        client.force_login(people[role])
    url = visit.url.format(**objects)
    caplog.clear()
    response = getattr(client, visit.method)(url, data=visit.data or {})

    assert response.status_code == visit.expected[role], f"{role} {visit.method.upper()} {url}"
    if response.status_code == LOGIN and role != "administrator" and "logout" not in url:
        assert "login/?next=" in response["Location"]
    person = people[role]
    assert_denial_logged(caplog.records, response, url=url, username=person.username if person else None)
