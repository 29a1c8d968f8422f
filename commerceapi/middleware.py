from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from commerceapi import errors
from commerceapi.problems import problem_response


class BodySizeLimitMiddleware:
    """413 for a declared body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``, before anything reads it.

    DRF's parsers read the stream directly and would not apply Django's own limit.
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
        return self.get_response(request)
