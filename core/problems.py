"""Rendering every failure as ``application/problem+json`` (RFC 9457).

One place turns domain errors, DRF's exceptions and Django's own (404, 500, oversized bodies,
the ``ValidationError`` of a model's validation in a service) into the error contract: ``type``,
``title``, ``status``, ``detail``, ``code`` and, for invalid input, ``errors: [{field, code,
message}]``.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from redis.exceptions import RedisError
from rest_framework import exceptions
from rest_framework.response import Response

from core import errors
from core.errors import DomainError, ErrorCode, FieldError

PROBLEM_CONTENT_TYPE = "application/problem+json"

security_logger = logging.getLogger("commerceapi.security")

# A database or cache that cannot be reached (or a SQLite lock that outlasted the busy timeout)
# is a 503 the client may retry; other database errors stay bugs (500).
_OUTAGES = (OperationalError, InterfaceError, RedisError)


class ProblemException(exceptions.APIException):
    """A DRF exception carrying one of our codes (for code paths DRF itself handles)."""

    def __init__(self, code: ErrorCode, detail: str = "") -> None:
        self.status_code = code.status
        self.error_code = code
        super().__init__(detail or code.description)


class ProblemAuthenticationFailed(exceptions.AuthenticationFailed):
    """401 with one of our codes. DRF adds ``WWW-Authenticate`` from the authenticator."""

    def __init__(self, code: ErrorCode, detail: str = "") -> None:
        self.error_code = code
        super().__init__(detail or code.description)


class ProblemPermissionDenied(exceptions.PermissionDenied):
    def __init__(self, code: ErrorCode, detail: str = "") -> None:
        self.error_code = code
        super().__init__(detail or code.description)


def problem_body(
    code: ErrorCode, detail: str = "", field_errors: list[FieldError] | None = None, status: int = 0
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": code.type_uri,
        "title": code.title,
        "status": status or code.status,
        "detail": detail or code.description,
        "code": code.number,
    }
    if field_errors:
        body["errors"] = [
            {"field": item.field, "code": item.code, "message": item.message}
            for item in field_errors
        ]
    return body


def _drf_field_errors(detail: Any, prefix: str = "") -> list[FieldError]:
    """Flatten DRF's nested ``ValidationError.detail`` into ``[{field, code, message}]``."""
    found: list[FieldError] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else str(key)
            path = f"{prefix}.{name}" if prefix and name else (name or prefix)
            found.extend(_drf_field_errors(value, path))
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, (dict, list)):
                found.extend(_drf_field_errors(value, f"{prefix}[{index}]"))
            else:
                found.extend(_drf_field_errors(value, prefix))
    else:
        code = getattr(detail, "code", None) or "invalid"
        found.append(FieldError(prefix or "body", str(code), str(detail)))
    return found


def _as_drf_validation_error(error: DjangoValidationError) -> exceptions.ValidationError:
    by_field = error.message_dict if hasattr(error, "error_dict") else error.messages
    return exceptions.ValidationError(by_field)


_DRF_CODES: dict[type[exceptions.APIException], ErrorCode] = {
    exceptions.ParseError: errors.MALFORMED_REQUEST,
    exceptions.NotFound: errors.NOT_FOUND,
    exceptions.MethodNotAllowed: errors.METHOD_NOT_ALLOWED,
    exceptions.NotAcceptable: errors.NOT_ACCEPTABLE,
    exceptions.UnsupportedMediaType: errors.UNSUPPORTED_MEDIA_TYPE,
    exceptions.Throttled: errors.THROTTLED,
}


def _code_for_drf(exc: exceptions.APIException) -> ErrorCode:
    own = getattr(exc, "error_code", None)
    if isinstance(own, ErrorCode):
        return own
    for exception_class, code in _DRF_CODES.items():
        if isinstance(exc, exception_class):
            return code
    if isinstance(exc, exceptions.NotAuthenticated):
        return errors.CREDENTIALS_MISSING
    if isinstance(exc, exceptions.AuthenticationFailed):
        return errors.CREDENTIALS_INVALID
    if isinstance(exc, exceptions.PermissionDenied):
        return errors.FORBIDDEN
    return errors.BAD_REQUEST


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler: every failure becomes a problem document."""
    headers: dict[str, str] = {}
    field_errors: list[FieldError] = []
    if isinstance(exc, DomainError):
        code, detail, field_errors, status = exc.code, exc.detail, exc.errors, exc.code.status
    elif isinstance(exc, Http404):
        code, detail, status = errors.NOT_FOUND, "", 404
    elif isinstance(exc, RequestDataTooBig):
        code, detail, status = errors.BODY_TOO_LARGE, "", 413
    elif isinstance(exc, (SuspiciousOperation, DjangoPermissionDenied)):
        code, detail, status = errors.BAD_REQUEST, "", 400
    elif isinstance(exc, RecursionError):
        # JSON nested deeper than the parser can follow: malformed input, not a failure of ours.
        code, detail, status = errors.MALFORMED_REQUEST, "", 400
    elif isinstance(exc, _OUTAGES):
        code, detail, status = errors.SERVICE_UNAVAILABLE, "", 503
    elif isinstance(exc, exceptions.ValidationError):
        code, detail, status = errors.VALIDATION_FAILED, "", 400
        field_errors = _drf_field_errors(exc.detail)
    elif isinstance(exc, DjangoValidationError):
        # A model's validation in a service: its fields named as DRF names a serializer's.
        code, detail, status = errors.VALIDATION_FAILED, "", 400
        field_errors = _drf_field_errors(_as_drf_validation_error(exc).detail)
    elif isinstance(exc, exceptions.APIException):
        code = _code_for_drf(exc)
        status = exc.status_code
        detail = str(exc.detail) if not isinstance(exc.detail, (dict, list)) else ""
        wait = getattr(exc, "wait", None)
        if isinstance(exc, exceptions.Throttled) and wait is not None:
            headers["Retry-After"] = str(max(1, math.ceil(wait)))
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
    else:
        return None
    if status == 401 and "WWW-Authenticate" not in headers:
        headers["WWW-Authenticate"] = _authenticate_header(context)
    if status in (401, 403):
        _log_refusal(context, code, status)
    return Response(
        problem_body(code, detail, field_errors, status),
        status=status,
        headers=headers,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def _log_refusal(context: dict[str, Any], code: ErrorCode, status: int) -> None:
    """Every refused credential is logged: what and where, never the token or key itself."""
    request = context.get("request")
    security_logger.warning(
        "refused %s %s: %s %s (%s)",
        getattr(request, "method", "?"),
        getattr(request, "path", "?"),
        status,
        code.number,
        code.slug,
        extra={"status": status, "code": code.number},
    )


def _authenticate_header(context: dict[str, Any]) -> str:
    """Every 401 says how to authenticate (RFC 9110), also when a view raised it."""
    view, request = context.get("view"), context.get("request")
    header = view.get_authenticate_header(request) if view is not None and request else None
    return header or 'Bearer realm="commerceapi"'


def problem_response(code: ErrorCode, status: int = 0) -> JsonResponse:
    return JsonResponse(
        problem_body(code, status=status),
        status=status or code.status,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        return problem_response(errors.BODY_TOO_LARGE)
    return problem_response(errors.BAD_REQUEST)


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(errors.FORBIDDEN)


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(errors.NOT_FOUND)


def handler500(request: HttpRequest) -> HttpResponse:
    return problem_response(errors.INTERNAL_ERROR)
