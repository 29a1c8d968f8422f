from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core import errors
from core.parsers import charset_acceptable
from core.problems import problem_response

# Below the server's own limits (gunicorn.conf.py), so that the API answers these itself, as
# problem+json; past the server's limits the server answers on its own (README "Deployment").
MAX_REQUEST_TARGET_BYTES = 4096
MAX_HEADER_BYTES = 12 * 1024
MAX_HEADERS_BYTES = 32 * 1024


class RequestLimitsMiddleware:
    """Refuse what no view should see, before anything reads it.

    - A request target (path and query) over ``MAX_REQUEST_TARGET_BYTES``: 414; one header over
      ``MAX_HEADER_BYTES``, or all of them over ``MAX_HEADERS_BYTES``: 431.
    - A Content-Length that is not a whole number: 400 ``content_length_invalid``.
    - A declared body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``: 413. DRF's parsers read the stream
      directly and would not apply Django's own limit.
    - A body whose Content-Type names a charset other than UTF-8: 415 ``charset_unsupported``
      (core.parsers says why), for every view, Django's forms included.
    - A NUL character in the path: 404. No resource has one, and PostgreSQL refuses text with
      NUL, so a path parameter carrying one would be a database error instead of a miss. (JSON
      fields are refused by DRF's own null-character validator.)
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = _refusal(request)
        if refusal is not None:
            return problem_response(refusal)
        return self.get_response(request)


def _refusal(request: HttpRequest) -> errors.ErrorCode | None:
    meta = request.META
    target = len(meta.get("PATH_INFO", "")) + len(meta.get("QUERY_STRING", ""))
    if target > MAX_REQUEST_TARGET_BYTES:
        return errors.URI_TOO_LONG
    header_sizes = [
        len(name) + len(value)
        for name, value in meta.items()
        if name.startswith("HTTP_") and isinstance(value, str)
    ]
    if max(header_sizes, default=0) > MAX_HEADER_BYTES or sum(header_sizes) > MAX_HEADERS_BYTES:
        return errors.HEADERS_TOO_LARGE
    declared = meta.get("CONTENT_LENGTH") or "0"
    if not declared.isascii() or not declared.isdigit():
        return errors.CONTENT_LENGTH_INVALID
    length = int(declared)
    if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        return errors.BODY_TOO_LARGE
    if length and not charset_acceptable(meta.get("CONTENT_TYPE", "")):
        return errors.CHARSET_UNSUPPORTED
    if "\x00" in request.path:
        return errors.NOT_FOUND
    return None
