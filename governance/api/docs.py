"""The API's description of itself: the OpenAPI schema's conventions, and the pages that show it.

- `GovernanceAutoSchema` adds to every operation what drf-spectacular cannot see: the token scope the
  operation needs (in its description and as `x-required-scope`), read from the view's `required_scope`
  (writes) or `read_scope` (reads), the same attributes `ApiTokenAuthentication` enforces; and the error
  bodies of `governance.api.errors` (`ErrorSerializer`) for 400/401/403/404.
- `ApiTokenScheme` names our bearer tokens in the schema's security schemes.
- `unknown_endpoint` answers whatever no endpoint under /api/v1/ does with the API's JSON 404.
- `SwaggerPage` and `RedocPage` are plain pages (login required) that load Swagger UI and ReDoc from
  drf-spectacular-sidecar's static files and start them from static/js/api-docs-*.js: the strict CSP
  allows no inline script. ReDoc's page alone also allows inline styles (see `REDOC_CSP`).
"""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.templatetags.static import static
from django.urls import reverse
from django.utils.csp import CSP
from django.utils.decorators import method_decorator
from django.views.decorators.csp import csp_override
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import TemplateView
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS

from governance.accounts.models import TokenScope

ERROR_DESCRIPTIONS = {
    "400": "The request is not valid: `errors` says which field and why.",
    "401": "No credentials, or a token that is unknown, revoked, expired or lacks the scope.",
    "403": "Your role may not do this (or segregation of duties forbids it).",
    "404": "Nothing here that you may see (for a list: the cursor is not valid).",
    "429": "Over the rate limit of this token (person, address): retry after `Retry-After` seconds.",
}


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True, help_text="Dotted path of the field at fault; null: the request.")
    code = serializers.CharField(help_text="Machine-readable, e.g. `required`, `invalid`.")
    message = serializers.CharField()


class FindingRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    rule_id = serializers.CharField()
    path = serializers.CharField(allow_blank=True)


class ErrorSerializer(serializers.Serializer):
    """Every error answer: a machine-readable `code`, a sentence, and per-field problems when there are any."""

    code = serializers.CharField(help_text="e.g. `invalid`, `not_authenticated`, `segregation_of_duties`.")
    detail = serializers.CharField()
    errors = FieldErrorSerializer(many=True, required=False)
    findings = FindingRefSerializer(
        many=True, required=False, help_text="With `open_critical_findings`: the findings that block approval."
    )


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "governance.accounts.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "pgv_<prefix>_<secret>",
            "description": (
                "An API token issued on the API tokens page, sent as `Authorization: Bearer pgv_…`. "
                f"Scopes: {', '.join(TokenScope.values)}."
            ),
        }


def required_scope(view, method: str) -> str | None:
    """The scope a token needs for `method` on `view`: what `ApiTokenAuthentication` checks."""
    return getattr(view, "read_scope" if method.upper() in SAFE_METHODS else "required_scope", None)


PATH_PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")
PATH_CONVERTER_SCHEMAS = {
    "int": {"minimum": 0, "maximum": 2**63 - 1},
    "slug": {"pattern": "^[-a-zA-Z0-9_]+$"},
}


class GovernanceAutoSchema(AutoSchema):
    """drf-spectacular's schema, plus each operation's token scope and its error bodies."""

    def _scope(self) -> str | None:
        return required_scope(self.view, self.method)

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is not None:
            # Here rather than in get_description, which an `extend_schema(description=…)` replaces.
            scope = self._scope()
            needs = f"Token scope: `{scope}`." if scope else "Token scope: none (any live token)."
            operation["description"] = "\n\n".join(part for part in (operation.get("description"), needs) if part)
        return operation

    def get_extensions(self) -> dict:
        extensions = dict(super().get_extensions())
        scope = self._scope()
        if scope:
            extensions["x-required-scope"] = scope
        return extensions

    def _resolve_path_parameters(self, variables):
        """Django's converters say which values reach the view; the schema says so too (anything else is
        a 404 from the resolver, before any view)."""
        parameters = super()._resolve_path_parameters(variables)
        converters = {name: converter for converter, name in PATH_PARAMETER.findall(self.path_regex)}
        converters.setdefault("id", converters.get("pk"))  # spectacular calls `pk` `id`
        for parameter in parameters:
            parameter["schema"].update(PATH_CONVERTER_SCHEMAS.get(converters.get(parameter["name"]), {}))
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        in_query = any(parameter["in"] == "query" for parameter in self._get_parameters())
        codes = ["401", "403", "429"]
        if self._get_request_body() or in_query:
            codes.append("400")
        if "{" in self.path or in_query:
            codes.append("404")
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    ErrorSerializer, code, media_types=["application/json"], direction=direction
                )
                responses[code]["description"] = ERROR_DESCRIPTIONS[code]
        return dict(sorted(responses.items()))


def error_response(description: str) -> OpenApiResponse:
    """An `extend_schema` response for an error status the automatic ones do not cover (e.g. 409)."""
    return OpenApiResponse(ErrorSerializer, description=description)


# --- what is not an endpoint -------------------------------------------------------------------------------


@csrf_exempt  # machines post here with tokens, not forms; there is nothing to protect
@login_not_required
def unknown_endpoint(request, unknown: str):
    """Anything under /api/v1/ that no endpoint answers (including a path parameter its converter refuses,
    e.g. a key that is not a slug): the API's JSON 404, not Django's HTML page."""
    body = {"code": "not_found", "detail": f"No endpoint at {request.path}: see {reverse('api:docs')}."}
    return JsonResponse(body, status=404)


# --- the pages --------------------------------------------------------------------------------------------

SIDECAR = "drf_spectacular_sidecar"


class _DocsPage(TemplateView):
    """A docs page: the schema's URL and the assets go to the template; the static init script reads them."""

    def get_context_data(self, **kwargs):
        return super().get_context_data(schema_url=reverse("api:schema"), **kwargs)


class SwaggerPage(_DocsPage):
    """Swagger UI: browse the operations and try them with your session (or an API token)."""

    template_name = "api/swagger_ui.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            swagger_css=static(f"{SIDECAR}/swagger-ui-dist/swagger-ui.css"),
            swagger_js=static(f"{SIDECAR}/swagger-ui-dist/swagger-ui-bundle.js"),
            **kwargs,
        )


# ReDoc renders with styled-components, which writes <style> elements at run time: its page is the one
# place the CSP is relaxed, and only for styles (style-src 'unsafe-inline'); scripts stay 'self' + nonce.
# Swagger UI needs no relaxation.
REDOC_CSP = settings.SECURE_CSP | {"style-src": [*settings.SECURE_CSP["style-src"], CSP.UNSAFE_INLINE]}


@method_decorator(csp_override(REDOC_CSP), name="dispatch")
class RedocPage(_DocsPage):
    """ReDoc: the reference, three panes, for reading."""

    template_name = "api/redoc.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(redoc_js=static(f"{SIDECAR}/redoc/bundles/redoc.standalone.js"), **kwargs)
