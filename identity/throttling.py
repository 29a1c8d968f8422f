"""Throttles of token issuance: per client address and per X-Auth-Key.

The client address is DRF's: ``REMOTE_ADDR``, or with ``TRUSTED_PROXY_COUNT`` = n the n-th
address from the right of ``X-Forwarded-For`` (the one the outermost trusted proxy saw), so a
client that writes its own ``X-Forwarded-For`` does not get a fresh bucket.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from identity.authentication import AUTH_KEY_HEADER
from identity.secrets import secret_prefix
from identity.storefront import STOREFRONT_KEY_KIND


class AnonymousTokenAddressThrottle(SimpleRateThrottle):
    scope = "anonymous_token_address"

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AnonymousTokenKeyThrottle(SimpleRateThrottle):
    """Counted by the key's lookup prefix, before the key is checked."""

    scope = "anonymous_token_key"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        prefix = secret_prefix(request.META.get(AUTH_KEY_HEADER, ""), kind=STOREFRONT_KEY_KIND)
        if prefix is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": prefix}
