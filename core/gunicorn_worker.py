"""gunicorn's workers, answering the requests gunicorn itself refuses as problem+json.

gunicorn parses the request line and the headers before the API sees anything, and answers
what it cannot parse or what is past its limits (gunicorn.conf.py) with an HTML page. This
worker answers those as the API answers everything else, with the codes of docs/errors.md:

- a request line over ``limit_request_line``: 414 ``uri_too_long``;
- more headers than ``limit_request_fields``, or one over ``limit_request_field_size``: 431
  ``headers_too_large``;
- a Content-Length that is not a number (or two that disagree): 400 ``content_length_invalid``;
- any other request gunicorn cannot parse (request line, method, version, header names): 400
  ``bad_request``.

What gunicorn does not report through ``handle_error`` (a TLS failure, a transfer coding it
does not support: 501) stays its own answer.

``ProblemThreadWorker`` (gunicorn's gthread worker: threads per process, connections kept
alive) is the one the image runs (gunicorn.conf.py); ``ProblemSyncWorker`` (one request at a
time, every connection closed after its answer) is kept for comparison in ``make bench``.
"""

from __future__ import annotations

import json
from typing import Any

from gunicorn.http import errors as http_errors
from gunicorn.util import write_nonblock
from gunicorn.workers.base import Worker
from gunicorn.workers.gthread import ThreadWorker
from gunicorn.workers.sync import SyncWorker

from core import errors
from core.errors import ErrorCode

_UNPARSABLE = (
    http_errors.InvalidRequestLine,
    http_errors.InvalidRequestMethod,
    http_errors.InvalidHTTPVersion,
    http_errors.InvalidHeader,
    http_errors.InvalidHeaderName,
    http_errors.ObsoleteFolding,
    http_errors.InvalidSchemeHeaders,
)


def refusal_code(exc: BaseException) -> ErrorCode | None:
    """Our code for what gunicorn refused, or None to leave the answer to gunicorn."""
    if isinstance(exc, http_errors.LimitRequestLine):
        return errors.URI_TOO_LONG
    if isinstance(exc, http_errors.LimitRequestHeaders):
        return errors.HEADERS_TOO_LARGE
    if isinstance(exc, http_errors.InvalidHeader) and exc.hdr == "CONTENT-LENGTH":
        return errors.CONTENT_LENGTH_INVALID
    if isinstance(exc, _UNPARSABLE):
        return errors.BAD_REQUEST
    return None


def refusal_response(code: ErrorCode) -> bytes:
    """A whole HTTP/1.1 answer carrying the problem document of ``code``."""
    from core.problems import PROBLEM_CONTENT_TYPE, problem_body

    body = json.dumps(problem_body(code)).encode()
    head = (
        f"HTTP/1.1 {code.status} {code.title}\r\n"
        "Connection: close\r\n"
        f"Content-Type: {PROBLEM_CONTENT_TYPE}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class ProblemAnswers(Worker):
    """What a worker answers for the requests gunicorn refuses: the API's problem documents."""

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        code = refusal_code(exc)
        if code is None:
            super().handle_error(req, client, addr, exc)
            return
        address = addr[0] if addr else ""
        self.log.warning("Invalid request from ip=%s: %s", address, exc)
        try:
            write_nonblock(client, refusal_response(code))
        except OSError:  # the client has gone: nothing to answer
            self.log.debug("Failed to send the refusal of an invalid request.")


class ProblemSyncWorker(ProblemAnswers, SyncWorker):
    pass


class ProblemThreadWorker(ProblemAnswers, ThreadWorker):
    pass
