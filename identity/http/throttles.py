"""Throttles of token issuance and sign-in: per client address and per X-Auth-Key.

The client address is DRF's: ``REMOTE_ADDR``, or with ``TRUSTED_PROXY_COUNT`` = n the n-th
address from the right of ``X-Forwarded-For`` (the one the outermost trusted proxy saw), so a
client that writes its own ``X-Forwarded-For`` does not get a fresh bucket.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import BaseCache, cache
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from identity.credentials.secrets import secret_prefix
from identity.http.authentication import AUTH_KEY_HEADER
from identity.tenancy.storefront import STOREFRONT_KEY_KIND


def cache_counter_increment(key: str, seconds: int, *, store: BaseCache = cache) -> int:
    """Add one to a counter in the cache that lives ``seconds``; its new value."""
    store.add(key, 0, seconds)
    try:
        return int(store.incr(key))
    except ValueError:  # the counter expired between add and incr
        store.set(key, 1, seconds)
        return 1


class FixedWindowRateThrottle(SimpleRateThrottle):
    """DRF's rate throttle, counting in fixed windows: one cache increment per request.

    DRF's own keeps a list of timestamps per client and rewrites it on every request, which
    costs as much as the rate is high (thousands of entries for a per-key rate). A window of
    ``duration`` seconds admits ``num_requests``; a burst across a window edge may reach twice
    that, the usual price of the fixed window.
    """

    # Set by SimpleRateThrottle.__init__ from the scope's rate.
    num_requests: int
    duration: int
    window_end = 0.0

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        counter_key = f"{self.key}:{window}"
        self.window_end = (window + 1) * self.duration
        count = cache_counter_increment(counter_key, self.duration + 1, store=self.cache)
        return count <= self.num_requests

    def wait(self) -> float:
        return max(0.0, self.window_end - self.now)


class _AddressThrottle(FixedWindowRateThrottle):
    """Counted per client address."""

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AnonymousTokenAddressThrottle(_AddressThrottle):
    scope = "anonymous_token_address"


class AnonymousTokenKeyThrottle(FixedWindowRateThrottle):
    """Counted by the key's lookup prefix, before the key is checked."""

    scope = "anonymous_token_key"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        prefix = secret_prefix(request.META.get(AUTH_KEY_HEADER, ""), kind=STOREFRONT_KEY_KIND)
        if prefix is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": prefix}


class OAuthTokenAddressThrottle(_AddressThrottle):
    """Every call of the OAuth endpoints, per client address."""

    scope = "oauth_token_address"


class OAuthPasswordAddressThrottle(_AddressThrottle):
    """Password sign-ins through a public client, per client address, on top of the per-e-mail
    lockout."""

    scope = "oauth_password_address"


class OAuthPasswordClientThrottle(FixedWindowRateThrottle):
    """Password sign-ins through a confidential client, per client: its server signs in all
    of its users from a few addresses."""

    scope = "oauth_password_client"

    def __init__(self, client_id: str) -> None:
        super().__init__()
        self.client_id = client_id

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.client_id}


class CustomerRegisterAddressThrottle(_AddressThrottle):
    scope = "customer_register_address"
