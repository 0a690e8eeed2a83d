"""Errors as JSON: `{"code": …, "detail": …, "errors": [{"field": …, "code": …, "message": …}]}`.

Domain exceptions become 4xx answers that say what and why; the same messages a person sees in the
browser. Every error body has a machine-readable `code`.
"""

from __future__ import annotations

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from features.declaration import DeclarationInvalid
from features.lifecycle import TransitionNotAllowed
from features.services import NotAllowed, RegistrationLocked
from governance.accounts.tokens import TokenRequestInvalid
from governance.reviews.services import DecisionInvalid, OpenCriticalFindings, SegregationOfDuties

DOMAIN_ERRORS: dict[type[Exception], tuple[int, str]] = {
    DeclarationInvalid: (status.HTTP_400_BAD_REQUEST, "invalid"),
    DecisionInvalid: (status.HTTP_400_BAD_REQUEST, "invalid"),
    TokenRequestInvalid: (status.HTTP_400_BAD_REQUEST, "invalid"),
    NotAllowed: (status.HTTP_403_FORBIDDEN, "not_allowed"),
    SegregationOfDuties: (status.HTTP_403_FORBIDDEN, "segregation_of_duties"),
    TransitionNotAllowed: (status.HTTP_409_CONFLICT, "transition_not_allowed"),
    RegistrationLocked: (status.HTTP_409_CONFLICT, "registration_locked"),
    OpenCriticalFindings: (status.HTTP_409_CONFLICT, "open_critical_findings"),
}


def field_errors(errors: dict[str, list[str]], code: str = "invalid") -> list[dict]:
    return [
        {"field": field or None, "code": code, "message": message}
        for field, messages in errors.items()
        for message in messages
    ]


def _flatten(detail, prefix: str = "") -> list[dict]:
    """DRF's nested ValidationError detail → a flat list with dotted field paths."""
    if isinstance(detail, dict):
        return [
            item for key, value in detail.items() for item in _flatten(value, f"{prefix}.{key}" if prefix else str(key))
        ]
    if isinstance(detail, list):
        if all(isinstance(item, exceptions.ErrorDetail | str) for item in detail):
            return [
                {
                    "field": None if prefix in ("", "non_field_errors") else prefix,
                    "code": getattr(item, "code", "invalid"),
                    "message": str(item),
                }
                for item in detail
            ]
        return [item for index, value in enumerate(detail) for item in _flatten(value, f"{prefix}.{index}")]
    return [{"field": prefix or None, "code": getattr(detail, "code", "invalid"), "message": str(detail)}]


def api_exception_handler(exc, context):
    for kind, (status_code, code) in DOMAIN_ERRORS.items():
        if isinstance(exc, kind):
            body = {
                "code": code,
                "detail": str(exc) if not getattr(exc, "errors", None) else "The request is not valid.",
            }
            if getattr(exc, "errors", None):
                body["errors"] = field_errors(exc.errors)
            if isinstance(exc, OpenCriticalFindings):
                body["findings"] = [
                    {"id": finding.pk, "rule_id": finding.rule_id, "path": finding.path} for finding in exc.findings
                ]
            return Response(body, status=status_code)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        code = "conflict" if response.status_code == 409 else "invalid"  # e.g. a key another entry holds
        response.data = {"code": code, "detail": "The request is not valid.", "errors": _flatten(exc.detail)}
    else:
        code = getattr(exc, "default_code", "error")
        detail = response.data.get("detail") if isinstance(response.data, dict) else response.data
        response.data = {"code": getattr(detail, "code", code), "detail": str(detail)}
    return response
