"""Request bodies as JSON or YAML (declarations as code), read defensively.

A body is at most `MAX_BODY_BYTES` (the size `check_declaration` accepts for a file), must be UTF-8, and
once parsed may hold at most `MAX_VALUES` values nested at most `MAX_DEPTH` deep: YAML aliases can make a
small document expand into a huge one ("billion laughs"), and `yaml.safe_load` builds no Python objects
beyond plain data. A body that cannot be read is a 400 whose `errors` say why (never echoing it).
"""

from __future__ import annotations

import json

import yaml
from rest_framework import status
from rest_framework.exceptions import APIException, ErrorDetail, UnsupportedMediaType, ValidationError
from rest_framework.parsers import BaseParser
from rest_framework.utils.mediatypes import _MediaType

from features.secrets import secret_kind
from governance.policy.files import MAX_CHARS

MAX_BODY_BYTES = MAX_CHARS
MAX_VALUES = 20_000
MAX_DEPTH = 16


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = f"A request body may be at most {MAX_BODY_BYTES:,} bytes; a declaration is a page of text."


def malformed(message: str) -> ValidationError:
    """A 400 about the body as a whole (`field` null), in the API's error shape."""
    if secret_kind(message):  # a parser's message may quote the input; never let it quote a secret
        message = "The body cannot be read."
    return ValidationError({"non_field_errors": [ErrorDetail(message, code="malformed")]})


def _read_text(stream, media_type: str | None, parser_context) -> str:
    charset = (_MediaType(media_type or "").params.get("charset") or "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(media_type)
    request = (parser_context or {}).get("request")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        raise BodyTooLarge()
    raw = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
    if len(raw) > MAX_BODY_BYTES:
        raise BodyTooLarge()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise malformed("The body is not UTF-8 text.") from None


def check_size(document) -> None:
    """Refuse documents with too many values or too deep (walked without recursion, stopping early)."""
    pending, seen = [(document, 1)], 0
    while pending:
        value, depth = pending.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise malformed(f"The document holds more than {MAX_VALUES:,} values (YAML aliases expand).")
        if depth > MAX_DEPTH:
            raise malformed(f"The document is nested more than {MAX_DEPTH} levels deep.")
        if isinstance(value, dict):
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)


def _no_constants(name: str):
    raise ValueError(f"{name} is not a JSON number")


class JsonBody(BaseParser):
    """`application/json`, strictly: no NaN or Infinity, bounded in size and depth."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        text = _read_text(stream, media_type, parser_context)
        try:
            document = json.loads(text, parse_constant=_no_constants)
        except json.JSONDecodeError as error:
            raise malformed(f"Not valid JSON: {error.msg} (line {error.lineno}, column {error.colno}).") from None
        except RecursionError:
            raise malformed(f"The document is nested more than {MAX_DEPTH} levels deep.") from None
        except ValueError:  # NaN/Infinity, or an integer with thousands of digits
            raise malformed("Not valid JSON: a number is not a finite JSON number of sensible size.") from None
        check_size(document)
        return document


class YamlBody(BaseParser):
    """`application/yaml` (RFC 9512): a declaration file as it is kept in a repository."""

    media_type = "application/yaml"

    def parse(self, stream, media_type=None, parser_context=None):
        text = _read_text(stream, media_type, parser_context)
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            problem = getattr(error, "problem", None) or "the document cannot be read"
            raise malformed(f"Not valid YAML: {problem}{where}.") from None
        except RecursionError:
            raise malformed(f"The document is nested more than {MAX_DEPTH} levels deep.") from None
        except ValueError:  # e.g. an integer with thousands of digits
            raise malformed("Not valid YAML: a value cannot be read.") from None
        if document is None:
            raise malformed("The document is empty; it should hold one declaration.")
        check_size(document)
        return document


class TextYamlBody(YamlBody):
    media_type = "text/yaml"


class XYamlBody(YamlBody):
    media_type = "application/x-yaml"


JSON_OR_YAML = [JsonBody, YamlBody, TextYamlBody, XYamlBody]
