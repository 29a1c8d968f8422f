"""Stable error codes and the domain error every service raises.

Codes are grouped by area (1xxx general, 2xxx authentication, 3xxx catalog, 4xxx carts, ...),
declared once in each app's ``errors`` module, and never renamed or reused. docs/errors.md is
generated from this registry (``manage.py errors_catalogue``).

Domain errors know nothing of HTTP frameworks; ``core.problems`` renders them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(frozen=True)
class ErrorCode:
    number: int
    slug: str
    status: int
    title: str
    description: str

    registry: ClassVar[dict[int, ErrorCode]] = {}

    def __post_init__(self) -> None:
        taken = ErrorCode.registry.get(self.number)
        if taken is not None and taken != self:
            raise ValueError(f"error code {self.number} is already {taken.slug!r}")
        ErrorCode.registry[self.number] = self

    @property
    def type_uri(self) -> str:
        return f"urn:commerceapi:problem:{self.slug}"


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    message: str


@dataclass
class DomainError(Exception):
    """A failure a caller can act on: a stable code, a sentence, and the fields at fault."""

    code: ErrorCode
    detail: str = ""
    errors: list[FieldError] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.detail or self.code.title)

    @classmethod
    def for_field(cls, code: ErrorCode, field_name: str, message: str) -> DomainError:
        return cls(code, message, [FieldError(field_name, code.slug, message)])


VALIDATION_FAILED = ErrorCode(
    1000, "validation_failed", 400, "Invalid input", "One or more fields are invalid; see errors[]."
)
MALFORMED_REQUEST = ErrorCode(
    1001, "malformed_request", 400, "Malformed request", "The body is not valid JSON."
)
NOT_FOUND = ErrorCode(1004, "not_found", 404, "Not found", "No such resource for this caller.")
METHOD_NOT_ALLOWED = ErrorCode(
    1005, "method_not_allowed", 405, "Method not allowed", "The endpoint does not take this method."
)
NOT_ACCEPTABLE = ErrorCode(
    1006, "not_acceptable", 406, "Not acceptable", "The API answers only in JSON."
)
BODY_TOO_LARGE = ErrorCode(
    1013, "body_too_large", 413, "Request body too large", "The request body exceeds the limit."
)
UNSUPPORTED_MEDIA_TYPE = ErrorCode(
    1015,
    "unsupported_media_type",
    415,
    "Unsupported media type",
    "Send the body as application/json.",
)
CHARSET_UNSUPPORTED = ErrorCode(
    1016,
    "charset_unsupported",
    415,
    "Unsupported charset",
    "Request bodies are UTF-8: send charset=utf-8, or no charset parameter.",
)
LENGTH_REQUIRED = ErrorCode(
    1011,
    "length_required",
    411,
    "Length required",
    "This server cannot read a chunked body: send the body with a Content-Length.",
)
URI_TOO_LONG = ErrorCode(
    1014, "uri_too_long", 414, "URI too long", "The request target (path and query) is too long."
)
HEADERS_TOO_LARGE = ErrorCode(
    1031,
    "headers_too_large",
    431,
    "Request headers too large",
    "A request header, or all of them together, exceed the limit.",
)
THROTTLED = ErrorCode(
    1029, "throttled", 429, "Too many requests", "Slow down; retry after Retry-After seconds."
)
CREDENTIALS_MISSING = ErrorCode(
    2000,
    "credentials_missing",
    401,
    "Authentication required",
    "The endpoint needs credentials (Authorization: Bearer, X-Auth-Key) and none were sent.",
)
CREDENTIALS_INVALID = ErrorCode(
    2001, "credentials_invalid", 401, "Invalid credentials", "The credentials were not accepted."
)
FORBIDDEN = ErrorCode(
    2003,
    "forbidden",
    403,
    "Forbidden",
    "The credentials are valid but do not allow this operation.",
)
BAD_REQUEST = ErrorCode(
    1040, "bad_request", 400, "Bad request", "The request could not be understood."
)
JSON_DUPLICATE_KEY = ErrorCode(
    1041,
    "json_duplicate_key",
    400,
    "Duplicate JSON key",
    "An object in the JSON body names the same key twice; send each key once.",
)
CONTENT_LENGTH_INVALID = ErrorCode(
    1042,
    "content_length_invalid",
    400,
    "Invalid Content-Length",
    "The Content-Length header is not a whole number of bytes.",
)
QUERY_PARAMETER_INVALID = ErrorCode(
    1043,
    "query_parameter_invalid",
    400,
    "Invalid query parameter",
    "A query parameter has a value the endpoint does not take; see errors[].",
)
INTERNAL_ERROR = ErrorCode(
    1500,
    "internal_error",
    500,
    "Internal error",
    "An unexpected failure; nothing was changed. It has been logged.",
)
SERVICE_UNAVAILABLE = ErrorCode(
    1503,
    "service_unavailable",
    503,
    "Service unavailable",
    "A dependency (database or cache) is not reachable.",
)
