"""Reading settings from the environment.

Every setting has a development default that is safe to run on a laptop; secrets have none
outside development (see ``require``).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import urllib.parse

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def require(name: str, *, debug: bool, development_default: str) -> str:
    """A secret: the development default only while DEBUG is on, else start-up stops."""
    value = os.environ.get(name, "")
    if value:
        return value
    if debug:
        return development_default
    raise ImproperlyConfigured(
        f"{name} is not set. It is required when DEBUG is off; set it in the environment "
        f"(or set DEBUG=true for local development)."
    )


def fernet_keys(name: str, *, debug: bool, secret_key: str) -> list[str]:
    """Fernet keys, comma-separated, the first one encrypting: required when DEBUG is off;
    in development, one key derived from ``secret_key`` (never a production secret)."""
    raw = os.environ.get(name, "")
    keys = [item.strip() for item in raw.split(",") if item.strip()]
    if not keys:
        if not debug:
            raise ImproperlyConfigured(
                f"{name} is not set. It is required when DEBUG is off: one or more Fernet keys, "
                f"comma-separated, the first encrypting (make one with: python -c "
                f'"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
                f")."
            )
        digest = hashlib.sha256(b"commerceapi secrets encryption\0" + secret_key.encode())
        return [base64.urlsafe_b64encode(digest.digest()).decode()]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: key {position} is not a Fernet key (32 bytes in url-safe base64)."
            ) from None
    return keys


# ``make run``'s address: the development issuer when nothing else is said.
DEVELOPMENT_ADDRESS = "http://127.0.0.1:8000"


def issuer_url(name: str, *, debug: bool, public_base_url: str) -> str:
    """The issuer of our tokens (RFC 8414): the API's public https URL, with no path, query or
    fragment, so that the metadata document's address is the issuer's.

    Unset, it is ``public_base_url``, else, in development, ``DEVELOPMENT_ADDRESS``. Plain http
    is accepted in development on a loopback host only; anything else stops start-up.
    """
    raw = os.environ.get(name, "") or public_base_url
    if not raw:
        if not debug:
            raise ImproperlyConfigured(
                f"{name} is not set. It is required when DEBUG is off: the API's public https "
                f"URL, e.g. https://api.shop.example (or set PUBLIC_BASE_URL)."
            )
        raw = DEVELOPMENT_ADDRESS
    url = raw.rstrip("/")
    parts = urllib.parse.urlsplit(url)
    loopback = parts.scheme == "http" and _is_loopback(parts.hostname or "")
    problem = ""
    if parts.scheme not in ("https", "http") or not parts.hostname:
        problem = "is not a URL"
    elif parts.scheme == "http" and not (debug and loopback):
        problem = "must use https (plain http only on a loopback host, in development)"
    elif parts.path or parts.query or parts.fragment or "@" in parts.netloc:
        problem = "must be a bare origin: no path, query, fragment or user"
    if problem:
        raise ImproperlyConfigured(
            f"{name} {raw!r} {problem}. Our tokens' iss and the OAuth metadata's issuer (RFC "
            f"8414) are this URL: the API's public address, e.g. https://api.shop.example."
        )
    return url


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
