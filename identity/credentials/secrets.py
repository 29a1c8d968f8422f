"""Random secrets shown once and stored as a lookup prefix plus a hash.

Format: ``<kind>_<prefix>_<secret>``; the prefix (48 random bits, hex) finds the row, the hash
of the whole value (256 random bits in the secret part) proves it. Comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

MAX_SECRET_LENGTH = 200
_FORMAT = re.compile(
    r"^(?P<kind>[a-z]{2,8})_(?P<prefix>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{32,64})$"
)


@dataclass(frozen=True)
class IssuedSecret:
    value: str
    prefix: str
    secret_hash: str


def secret_issue(kind: str) -> IssuedSecret:
    prefix = secrets.token_hex(6)
    value = f"{kind}_{prefix}_{secrets.token_urlsafe(32)}"
    return IssuedSecret(value=value, prefix=prefix, secret_hash=secret_hash(value))


def secret_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def secret_prefix(value: str, *, kind: str) -> str | None:
    """The lookup prefix of a well-formed secret of this kind, else None."""
    if len(value) > MAX_SECRET_LENGTH:
        return None
    match = _FORMAT.match(value)
    if match is None or match["kind"] != kind:
        return None
    return match["prefix"]


def secret_matches(value: str, expected_hash: str) -> bool:
    return hmac.compare_digest(secret_hash(value), expected_hash)
