from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core import errors
from core.problems import problem_response


class RequestLimitsMiddleware:
    """Refuse what no view should see, before anything reads it.

    - A declared body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``: 413. DRF's parsers read the stream
      directly and would not apply Django's own limit.
    - A NUL character in the path: 404. No resource has one, and PostgreSQL refuses text with
      NUL, so a path parameter carrying one would be a database error instead of a miss. (JSON
      fields are refused by DRF's own null-character validator.)
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(declared)
        except ValueError:
            return problem_response(errors.BAD_REQUEST)
        if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return problem_response(errors.BODY_TOO_LARGE)
        if "\x00" in request.path:
            return problem_response(errors.NOT_FOUND)
        return self.get_response(request)
