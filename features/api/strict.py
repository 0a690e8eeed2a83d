"""Strict request bodies: exact JSON types, no unknown fields, bounded sizes, messages that never echo.

DRF's stock fields coerce ("5" becomes 5, 1 becomes True, 5 becomes "5") and some of its messages repeat
what was sent (`"…" is not a valid choice.`). A declaration filed as code should be refused when it says
something the format does not describe, and a refusal must never repeat a value: it may be a secret.
`StrictSerializer` refuses unknown fields, and the schema says so (`additionalProperties: false`).
"""

from __future__ import annotations

from collections.abc import Mapping

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError

from features.secrets import secret_kind

# The largest value a 32-bit integer column holds (PostgreSQL `integer`): a day count beyond it is not a
# typo the database should discover.
INT32_MAX = 2_147_483_647
FIELD_NAME_SHOWN = 80
# Text never holds NUL (the database refuses it): saying so in the schema keeps "valid" and "accepted" the
# same set for schema-driven clients and fuzzers.
NO_NUL = r"^[^\x00]*$"


class Text(serializers.CharField):
    """A JSON string (never a number or a list turned into one), valid Unicode, without NUL."""

    default_error_messages = {
        "invalid": "Enter text (a JSON string).",
        "not_unicode": "The text holds characters that are not valid Unicode.",
    }

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            data.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates ("\ud800") would fail in the database driver
            self.fail("not_unicode")
        return super().to_internal_value(data)


class WholeNumber(serializers.IntegerField):
    """A JSON integer: no strings, no floats, no booleans."""

    default_error_messages = {"invalid": "Enter a whole number."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class Flag(serializers.BooleanField):
    """A JSON boolean: `true` or `false`, not "yes" or 1."""

    default_error_messages = {"invalid": "Enter true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class Choice(serializers.ChoiceField):
    """One of an enumeration's values, of the value's own type; the refusal lists the choices, not the input."""

    default_error_messages = {"invalid_choice": "Choose one of: {allowed}."}

    def to_internal_value(self, data):
        if data == "" and self.allow_blank:
            return ""
        types = {type(value) for value in self.choices}
        if isinstance(data, bool) or type(data) not in types or data not in self.choices:
            self.fail("invalid_choice", allowed=", ".join(str(value) for value in self.choices if value != ""))
        return data


class Items(serializers.ListField):
    """A JSON array (a YAML set or a string is not one)."""

    def to_internal_value(self, data):
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        return super().to_internal_value(data)


class DateText(serializers.DateField):
    """A date as ISO 8601 text (`2026-01-31`)."""

    def to_internal_value(self, value):
        if not isinstance(value, str):
            self.fail("invalid", format="YYYY-MM-DD")
        return super().to_internal_value(value)


def _shown_name(key) -> str:
    """How an unknown field is named in the error: never a secret, never a page of text."""
    name = str(key)
    if secret_kind(name):
        return "(a field name that looks like a secret)"
    return name if len(name) <= FIELD_NAME_SHOWN else name[:FIELD_NAME_SHOWN] + "…"


class StrictSerializer(serializers.Serializer):
    """An object with exactly the declared fields: an unknown one is reported, with the other errors."""

    default_error_messages = {"invalid": "Send an object with named fields."}

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            problem = [ErrorDetail(self.error_messages["invalid"], code="invalid")]
            # At the root DRF wants a dict; nested in a list, a plain list puts the error on the row itself.
            raise ValidationError({"non_field_errors": problem} if self.parent is None else problem)
        errors = {
            _shown_name(key): [ErrorDetail("This field is not part of the format.", code="unknown_field")]
            for key in data
            if not isinstance(key, str) or key not in self.fields
        }
        try:
            value = super().to_internal_value({key: item for key, item in data.items() if isinstance(key, str)})
        except ValidationError as invalid:
            if not isinstance(invalid.detail, Mapping):
                raise
            errors = {**invalid.detail, **errors}
            value = None
        if errors:
            raise ValidationError(errors)
        return value


class StrictSerializerSchema(OpenApiSerializerExtension):
    """Tell schema readers (and schemathesis) what `StrictSerializer` enforces: no additional properties."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema


class TextSchema(OpenApiSerializerFieldExtension):
    """Tell schema readers what `Text` refuses besides its length: NUL characters."""

    target_class = Text
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["pattern"] = NO_NUL
        return schema
