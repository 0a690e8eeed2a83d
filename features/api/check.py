"""Dry runs for CI: the policy engine on a declaration file, and the file format's JSON Schema.

`POST /api/v1/check` is `manage.py check_declaration` over HTTP: the same engine on the same registry
facts (`policy_context_for`), and nothing is saved. Any signed-in person or live token may call it.
"""

from __future__ import annotations

import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from features.api.base import TOO_LARGE, UNSUPPORTED, RegistryApi, has_body
from features.api.declarations import DeclarationSerializer, declaration_from, declaration_schema
from features.api.outputs import PolicyCheckSerializer, policy_check
from features.api.parsers import JSON_OR_YAML, malformed
from features.selectors import policy_context_for
from features.validation import refuse_secrets
from governance.policy.engine import evaluate

FEATURE_KEY = re.compile(r"[-a-zA-Z0-9_]{1,80}")


def _feature_key(request) -> str | None:
    key = request.query_params.get("feature")
    if key in (None, ""):
        return None
    if not FEATURE_KEY.fullmatch(key):
        raise ValidationError({"feature": ["Give a feature key: letters, digits, hyphens and underscores."]})
    return key


class CheckApi(RegistryApi):
    """Check a declaration file against the policy rules without filing it.

    The body is a declaration in the declaration file format (JSON, or YAML with a YAML content type).
    `critical` is true when a finding would block approval: fail the merge request on it. A body that is
    not a declaration, or holds a secret, is a 400 with `errors`. Nothing is saved.
    """

    parser_classes = JSON_OR_YAML
    body_required_for = ("POST",)

    @extend_schema(
        summary="Check a declaration (dry run)",
        parameters=[
            OpenApiParameter(
                "feature",
                {"type": "string", "pattern": r"^[-a-zA-Z0-9_]*$", "maxLength": 80},
                description="The feature the file declares, so its own filed versions do not count as identity reuse.",
            )
        ],
        request=DeclarationSerializer,
        responses={200: PolicyCheckSerializer, 413: TOO_LARGE, 415: UNSUPPORTED},
    )
    def post(self, request):
        feature_key = _feature_key(request)
        if not has_body(request):
            raise malformed("Send the declaration as the request body (JSON, or YAML with a YAML content type).")
        declaration = declaration_from(request.data)
        refuse_secrets(declaration)
        return Response(policy_check(evaluate(declaration, policy_context_for(feature_key))))


class DeclarationSchemaApi(RegistryApi):
    """The JSON Schema (draft 2020-12) of the declaration file format, for editors and CI linters."""

    @extend_schema(summary="The declaration file format's JSON Schema", responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return Response(declaration_schema())
