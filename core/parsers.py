"""Reading request bodies one way only: UTF-8, within the size limit, each key once.

A body is text in one encoding, UTF-8, whatever its media type:

- ``application/json``: RFC 8259 section 8.1 requires UTF-8 between systems, and the media
  type defines no ``charset`` parameter;
- ``application/x-www-form-urlencoded``: the WHATWG URL standard decodes forms as UTF-8, and
  OAuth (RFC 6749 appendix B) encodes its parameters so.

A ``charset`` parameter other than ``utf-8`` (any case, quoted or not) is refused, 415 with
``charset_unsupported``, before anything reads the body: Python would accept any codec name
there, ``bz2`` and ``zlib`` among them, and decompress what it "decodes". The size limit
(``DATA_UPLOAD_MAX_MEMORY_SIZE``) applies to the bytes the parser reads; strict UTF-8 never
yields more characters than bytes, so it bounds what is parsed too.

JSON objects that name a key twice are refused (``json_duplicate_key``): a gateway that keeps
the first value and the API that would keep the last must never read one body two ways.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import IO, Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import QueryDict
from django.utils.http import parse_header_parameters
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from core import errors
from core.problems import ProblemException

BODY_CHARSET = "utf-8"


def charset_acceptable(content_type: str) -> bool:
    """Whether a Content-Type's ``charset`` parameter, if any, names UTF-8."""
    _, parameters = parse_header_parameters(content_type or "")
    charset = parameters.get("charset")
    return charset is None or charset.strip().strip('"').lower() == BODY_CHARSET


def body_read(stream: IO[bytes], media_type: str | None) -> str:
    """The body as text: its charset checked, at most the body limit read, UTF-8 decoded
    (``UnicodeDecodeError`` if it is not UTF-8)."""
    if not charset_acceptable(media_type or ""):
        raise ProblemException(errors.CHARSET_UNSUPPORTED)
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise RequestDataTooBig("The request body exceeds DATA_UPLOAD_MAX_MEMORY_SIZE.")
    return raw.decode(BODY_CHARSET)  # UnicodeDecodeError (a ValueError) for anything else


class DuplicateKey(ValueError):
    pass


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKey(key)
        result[key] = value
    return result


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def json_loads_strict(text: str) -> Any:
    """RFC 8259 JSON, each object key once; NaN and Infinity are not JSON."""
    return json.loads(
        text, object_pairs_hook=_object_without_duplicates, parse_constant=_no_constant
    )


class StrictJSONParser(BaseParser):
    """``application/json`` read by the rules of this module."""

    media_type = "application/json"

    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            return json_loads_strict(body_read(stream, media_type))
        except DuplicateKey as duplicate:
            raise ProblemException(
                errors.JSON_DUPLICATE_KEY,
                f"An object in the body names the key {json.dumps(str(duplicate))} twice.",
            ) from None
        except ValueError as error:  # not UTF-8, malformed, NaN, or a number too long
            raise ParseError(f"JSON parse error - {error}") from None


class StrictFormParser(BaseParser):
    """``application/x-www-form-urlencoded`` read by the rules of this module; percent-encoded
    bytes must be UTF-8 too. The answer is a ``QueryDict`` keeping repeated names."""

    media_type = "application/x-www-form-urlencoded"

    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> QueryDict:
        try:
            pairs = parse_qsl(
                body_read(stream, media_type),
                keep_blank_values=True,
                encoding=BODY_CHARSET,
                errors="strict",
                max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
            )
        except UnicodeDecodeError:
            raise ParseError("A form parameter is not UTF-8 text.") from None
        except ValueError:  # more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS
            raise ParseError("The form has too many parameters.") from None
        form = QueryDict(mutable=True)
        for name, value in pairs:
            form.appendlist(name, value)
        return form
