"""What the registry's endpoints share: the view base, cursor pages, stable ordering, the token's teams.

Views are thin (one class per path, one method per operation): they read with `features.selectors`,
write with `features.services`, and let `governance.api.errors` turn domain refusals into JSON.
"""

from __future__ import annotations

import re

import django_filters
from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import generics, status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.metadata import SimpleMetadata

from features.api.parsers import JsonBody
from governance.accounts.tokens import token_team_ids
from governance.api.docs import GovernanceAutoSchema, error_response
from governance.api.pagination import StablePagination

PAGE_SIZE_PATTERN = re.compile(r"[0-9]{1,4}")


class Conflict(APIException):
    """The request is well formed but the registry's state refuses it (e.g. an entry still in use)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The registry's current state does not allow this."


def token_teams(request) -> set[int] | None:
    """The teams the request's API token is limited to; None for a session or an unlimited token."""
    return token_team_ids(request.auth) if request.auth is not None else None


def within_token_teams(queryset: QuerySet, request, field: str = "team") -> QuerySet:
    teams = token_teams(request)
    return queryset if teams is None else queryset.filter(**{f"{field}__in": teams})


def has_body(request) -> bool:
    """Whether the request carries a body (DRF reads no body without a Content-Length, nor do we)."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > 0
    except ValueError:
        return False


class CursorPage(StablePagination):
    """`StablePagination`, refusing what it would otherwise guess at.

    `page_size` outside 1…200 or not a number is a 400 (DRF silently falls back to the default), and a
    cursor whose position does not fit the ordering field is a 404 like any other invalid cursor (DRF
    would pass it to the database and fail with a 500).
    """

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not PAGE_SIZE_PATTERN.fullmatch(raw) or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError({"page_size": [f"Ask for 1 to {self.max_page_size} items a page."]})
        return int(raw)

    def paginate_queryset(self, queryset, request, view=None):
        cursor = self.decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            self._check_position(cursor.position, self.get_ordering(request, queryset, view), queryset)
        return super().paginate_queryset(queryset, request, view)

    def _check_position(self, position: str, ordering, queryset) -> None:
        if "\x00" in position:
            raise NotFound(self.invalid_cursor_message)
        name = ordering[0].lstrip("-")
        meta = queryset.model._meta
        try:
            field = meta.pk if name == "pk" else meta.get_field(name)
        except FieldDoesNotExist:
            return  # an annotation: nothing to check it against
        try:
            field.get_prep_value(field.to_python(position))
        except (DjangoValidationError, ValueError, TypeError, OverflowError):
            raise NotFound(self.invalid_cursor_message) from None

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size})
        return parameters


class StableOrdering(OrderingFilter):
    """`?ordering=` among the view's `ordering_fields` (others are ignored), always ending with the primary
    key so that equal values keep one order from page to page."""

    def get_ordering(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view)
        if ordering and not any(term.lstrip("-") in ("pk", "id") for term in ordering):
            ordering = [*ordering, "pk"]
        return ordering


class ViewMetadata(SimpleMetadata):
    """OPTIONS: the view's name, description and media types. (DRF's default also describes a form from the
    view's one `serializer_class`; these views have an input and an output serializer per operation, and
    the OpenAPI schema describes them.)"""

    def determine_actions(self, request, view):
        return {}


class RegistrySchema(GovernanceAutoSchema):
    """Says so when an operation's body is required although every field in it is optional."""

    def _get_request_body(self, direction="request"):
        body = super()._get_request_body(direction)
        if body and self.method in getattr(self.view, "body_required_for", ()):
            body["required"] = True
        return body


class StrictFilters(DjangoFilterBackend):
    """django-filter, refusing an empty value for a choice or a number (`?status=`): the page's form sends
    one to mean "any", a program means nothing by it; leave the parameter out instead."""

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is not None:
            empty = [
                name
                for name, field in filterset.filters.items()
                if isinstance(field, django_filters.ChoiceFilter | django_filters.NumberFilter)
                and request.query_params.get(name) == ""
            ]
            if empty:
                raise ValidationError({name: ["Leave the parameter out to not filter by it."] for name in empty})
        return filterset


class RegistryApi(generics.GenericAPIView):
    """Base of the registry's endpoints. Lists: django-filter, `?ordering=`, cursor pages."""

    schema = RegistrySchema()
    metadata_class = ViewMetadata
    body_required_for: tuple[str, ...] = ()
    parser_classes = [JsonBody]
    pagination_class = CursorPage
    filter_backends = [StrictFilters, StableOrdering]

    def page_of(self, queryset: QuerySet, serializer_class):
        """One page of `queryset` (filtered, ordered) as the paginated response."""
        page = self.paginate_queryset(self.filter_queryset(queryset))
        return self.get_paginated_response(serializer_class(page, many=True, context={"request": self.request}).data)


CONFLICT = error_response("The registry's state refuses it: `transition_not_allowed` or `registration_locked`.")
TOO_LARGE = error_response("The body is larger than a declaration can be (`too_large`).")
UNSUPPORTED = error_response("Send `application/json`, or YAML as `application/yaml` or `text/yaml` (UTF-8).")
