"""Browser origins (RFC 6454) as a browser sends them in the ``Origin`` header.

An allowed origin is compared with that header as a string, so anything a browser never sends
can never match: a path or a trailing slash, a missing scheme, capitals, a default port, a user.
Such a value is refused where it is entered (the model, the admin, the commands) rather than
kept and silently ignored.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from django.core.exceptions import ValidationError

ORIGINS_MAX = 50
_DEFAULT_PORTS = {"http": 80, "https": 443}
EXAMPLE = "https://shop.example or http://127.0.0.1:8001"


def origin_problem(value: Any) -> str | None:
    """Why ``value`` is not an origin a browser sends, or None if it is one."""
    if not isinstance(value, str):
        return f"{value!r} is not a string; an origin is text such as {EXAMPLE}."
    if not value.isprintable() or any(character.isspace() for character in value):
        return f"{value!r} holds spaces or control characters; an origin has none."
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in _DEFAULT_PORTS or not value.startswith(f"{parts.scheme}://"):
        return f"{value!r} is not an origin: scheme://host[:port], such as {EXAMPLE}."
    try:
        port = parts.port
    except ValueError:
        return f"{value!r} has a port that is not a number from 1 to 65535."
    if not parts.hostname or "@" in parts.netloc or parts.netloc.endswith(":"):
        return f"{value!r} is not an origin: scheme://host[:port], such as {EXAMPLE}."
    if parts.path or parts.query or parts.fragment or value.endswith(("?", "#")):
        return (
            f"{value!r} has a path, a query or a trailing slash; a browser's Origin never does: "
            f"{parts.scheme}://{parts.netloc}."
        )
    if value != value.lower():
        return f"{value!r} has capitals; a browser sends the origin in lower case."
    if port == _DEFAULT_PORTS[parts.scheme]:
        return f"{value!r} names the default port; a browser omits it: {parts.scheme}://{parts.hostname}."
    return None


def origins_validate(value: Any) -> None:
    """Validator of a list of allowed origins: a JSON list of distinct origins."""
    if not isinstance(value, list):
        raise ValidationError(
            'A list of origins is required, such as ["https://shop.example"].', code="invalid"
        )
    if len(value) > ORIGINS_MAX:
        raise ValidationError(f"At most {ORIGINS_MAX} origins.", code="invalid")
    problems = [problem for problem in map(origin_problem, value) if problem]
    if problems:
        raise ValidationError(problems, code="invalid")
    if len(set(value)) != len(value):
        raise ValidationError("An origin is listed twice.", code="invalid")
