"""Chunked request bodies (``Transfer-Encoding: chunked``, no ``Content-Length``).

Django reads a body only as far as ``Content-Length`` says, so without one a chunked body would
be read as empty: a valid JSON body would come in as no body at all. This WSGI middleware reads
such a body first, within the same limit as any other (``DATA_UPLOAD_MAX_MEMORY_SIZE``; larger
is 413), and hands Django the body with its length. That needs a server that ends the input
stream at the end of the body (``wsgi.input_terminated``, as gunicorn does); a server that does
not (Django's runserver) gets 411 ``length_required`` instead of a silently empty body.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings

from core import errors
from core.errors import ErrorCode
from core.problems import PROBLEM_CONTENT_TYPE, problem_body

WsgiApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _is_chunked_without_length(environ: dict[str, Any]) -> bool:
    encodings = environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    return "chunked" in encodings and not environ.get("CONTENT_LENGTH")


def _problem(start_response: Callable[..., Any], code: ErrorCode) -> list[bytes]:
    body = json.dumps(problem_body(code)).encode()
    start_response(
        f"{code.status} {code.title}",
        [("Content-Type", PROBLEM_CONTENT_TYPE), ("Content-Length", str(len(body)))],
    )
    return [body]


def chunked_bodies_read(application: WsgiApplication) -> WsgiApplication:
    """Wrap a WSGI application so that chunked bodies reach it with a ``Content-Length``."""

    def read_then_call(
        environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if not _is_chunked_without_length(environ):
            return application(environ, start_response)
        if not environ.get("wsgi.input_terminated"):
            return _problem(start_response, errors.LENGTH_REQUIRED)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = environ["wsgi.input"].read(limit + 1)
        if len(body) > limit:
            return _problem(start_response, errors.BODY_TOO_LARGE)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return application(environ, start_response)

    return read_then_call
