"""The header walk of api/v1/ (see test_headers.py): every route of the API walk's table
(tests/api/test_api_walk.py), visited by a way in it answers, sends `Cache-Control: no-store`; its pages
(Swagger UI, ReDoc) send the strict Content-Security-Policy too."""

from __future__ import annotations

import pytest

# The API's conventions and the fixtures its walk builds objects and tokens with.
from tests.api.conftest import api_client, token_header  # noqa: F401 (fixtures)
from tests.api.test_api_walk import (  # noqa: F401 (fixtures)
    VISITS,
    WAYS_IN,
    drift_finding,
    evidence_pack,
    feature,
    finding,
    prepare_api_visit,
    spare_identity,
    spare_signal,
    tokens,
)
from tests.security.headers import kind_of, problems_of
from tests.security.test_headers import representative

API_ROUTES = sorted({visit.route for visit in VISITS})


@pytest.mark.parametrize("route", API_ROUTES)
def test_every_api_route_sends_the_security_headers(request, api_client, people, tokens, feature, walked, route):  # noqa: F811
    visit, way_in = representative(route, VISITS, WAYS_IN)
    walked(route, False)
    url, headers = prepare_api_visit(request, api_client, people, tokens, visit, way_in)
    method = getattr(api_client, visit.method)
    response = (
        method(url, data=visit.data, format="json", headers=headers) if visit.data else method(url, headers=headers)
    )
    assert response.status_code == visit.expected[way_in], f"{way_in} {visit.method.upper()} {url}"
    assert problems_of(response) == [], f"{way_in} {visit.method.upper()} {url}"
    walked(route, True, kind_of(response))
