"""The request body parser: JSON, bounded in size and nesting before it is parsed.

Python's json module recurses once per nesting level, so a body nested ~1,000 deep raises
RecursionError (a 500) instead of a client error; we count the depth first, without recursion.
"""

import json
import re

from django.conf import settings
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

# Strings are skipped when counting depth: a "[" inside a string opens nothing.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


class PayloadTooLarge(APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class NestingTooDeep(ParseError):
    default_detail = "The JSON body is nested too deeply."
    default_code = "nesting_too_deep"


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text (strings ignored), without recursion."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub(b"", body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


class BoundedJSONParser(JSONParser):
    """JSON with a cap on body size (API_MAX_BODY_BYTES: 413) and on nesting (API_MAX_JSON_DEPTH: 400)."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_MAX_BODY_BYTES
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        if json_depth(body) > settings.API_MAX_JSON_DEPTH:
            raise NestingTooDeep(f"The JSON body is nested deeper than {settings.API_MAX_JSON_DEPTH} levels.")
        try:
            data = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"The body is not valid JSON: {exc}") from exc
        _refuse_unstorable_text(data)
        return data


def _refuse_unstorable_text(data) -> None:
    """Text PostgreSQL cannot store (NUL) or that is not Unicode (a lone surrogate escape such as
    "\\ud800") is refused here, once, rather than failing deep in a service or the idempotency store.
    The walk recurses at most API_MAX_JSON_DEPTH levels (checked before parsing)."""
    if isinstance(data, dict):
        for key, value in data.items():
            _refuse_unstorable_text(key)
            _refuse_unstorable_text(value)
    elif isinstance(data, list):
        for value in data:
            _refuse_unstorable_text(value)
    elif isinstance(data, str):
        if "\x00" in data:
            raise ParseError("The body holds a NUL character (\\u0000), which no field accepts.")
        try:
            data.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ParseError("The body holds a \\u escape that is not a Unicode character.") from exc


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")
