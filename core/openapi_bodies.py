"""The refusals every endpoint that takes a body may answer, documented on each of them.

The body rules (core.parsers, commerceapi.middleware) apply before any view: a body over the
limit is 413, one in another charset 415, one that cannot be read (not JSON, not UTF-8, a key
twice) 400. A drf-spectacular post-processing hook adds these answers to every operation of
the schema with a request body, whatever app it comes from, unless it documents them itself.
"""

from __future__ import annotations

from typing import Any

from core.openapi import PROBLEM_MEDIA_TYPE

BODY_REFUSALS = {
    "400": "The body cannot be read: malformed, not UTF-8, or an object naming a key twice.",
    "413": "The body is larger than the limit (MAX_REQUEST_BODY_BYTES, 64 KiB by default).",
    "415": "The body's media type is not the one documented, or its charset is not UTF-8.",
}


def body_refusals_document(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "requestBody" not in operation:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in BODY_REFUSALS.items():
                # A media object of its own for each: later hooks add its examples.
                media = {**problem}
                responses.setdefault(
                    status, {"description": description, "content": {PROBLEM_MEDIA_TYPE: media}}
                )
    return result
