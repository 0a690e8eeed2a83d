"""`ApiTokenAuthentication` on a tiny API view: who gets in, and the 401 a refused machine reads."""

import datetime

import pytest
from django.utils import timezone
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from governance.accounts.authentication import ApiTokenAuthentication
from governance.accounts.models import ApiToken, TokenScope
from governance.accounts.tokens import token_revoke

pytestmark = pytest.mark.django_db


class ObservationsView(APIView):
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [IsAuthenticated]
    required_scope = TokenScope.OBSERVATIONS_WRITE

    def post(self, request):
        return Response({"user": request.user.username, "token": request.auth.prefix})


class AnyScopeView(ObservationsView):
    required_scope = None


def call(view, raw: str | None):
    headers = {} if raw is None else {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    return view.as_view()(APIRequestFactory().post("/api/observations/", {}, format="json", **headers))


def test_a_live_token_authenticates_as_its_issuer_with_the_token_as_auth(owner, issue):
    issued = issue(owner)
    response = call(ObservationsView, issued.plaintext)
    assert response.status_code == 200
    assert response.data == {"user": "owner", "token": issued.token.prefix}


def test_a_view_without_a_required_scope_accepts_any_live_token(owner, issue):
    issued = issue(owner, scopes=[TokenScope.EVIDENCE_READ])
    assert call(AnyScopeView, issued.plaintext).status_code == 200


def test_a_revoked_token_gets_401_saying_so(owner, issue):
    issued = issue(owner)
    token_revoke(actor=owner, token=issued.token)
    response = call(ObservationsView, issued.plaintext)
    assert response.status_code == 401
    assert "was revoked on" in response.data["detail"]
    assert response["WWW-Authenticate"] == "Bearer"


def test_an_expired_token_gets_401_saying_so(owner, issue):
    issued = issue(owner)
    ApiToken.objects.filter(pk=issued.token.pk).update(expires_at=timezone.now() - datetime.timedelta(days=1))
    response = call(ObservationsView, issued.plaintext)
    assert response.status_code == 401
    assert "expired on" in response.data["detail"]
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_token_without_the_scope_gets_401_naming_it(owner, issue):
    issued = issue(owner, scopes=[TokenScope.EVIDENCE_READ])
    response = call(ObservationsView, issued.plaintext)
    assert response.status_code == 401
    assert response.data["detail"] == f"The token {issued.token.prefix} lacks the scope observations:write."


def test_an_unknown_token_gets_401(owner):
    response = call(ObservationsView, "pgv_deadbeef_guess")
    assert (response.status_code, response.data["detail"]) == (401, "The token is not known.")


def test_an_empty_bearer_gets_401_saying_how_to_send_one(owner):
    response = call(ObservationsView, "")
    assert response.status_code == 401
    assert "Authorization: Bearer pgv_" in response.data["detail"]


def test_no_bearer_header_gets_401_asking_for_one(owner):
    response = call(ObservationsView, None)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_another_scheme_is_left_to_the_next_authentication_class(owner):
    class SessionOrTokenView(ObservationsView):
        authentication_classes = [ApiTokenAuthentication, SessionAuthentication]

    request = APIRequestFactory().post("/api/observations/", {}, HTTP_AUTHORIZATION="Basic b3duZXI6eA==")
    response = SessionOrTokenView.as_view()(request)
    assert (response.status_code, response.data["detail"]) == (401, "Authentication credentials were not provided.")


def test_the_refusal_body_is_json(owner):
    response = call(ObservationsView, "pgv_deadbeef_guess")
    response.render()
    assert response["Content-Type"] == "application/json"
    assert b'"detail":"The token is not known."' in response.content
