"""Throttles of token issuance and sign-in: per client address and per X-Auth-Key.

The client address is DRF's: ``REMOTE_ADDR``, or with ``TRUSTED_PROXY_COUNT`` = n the n-th
address from the right of ``X-Forwarded-For`` (the one the outermost trusted proxy saw), so a
client that writes its own ``X-Forwarded-For`` does not get a fresh bucket.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request

from core.throttling import FixedWindowRateThrottle
from identity.credentials.secrets import secret_prefix
from identity.http.authentication import AUTH_KEY_HEADER
from identity.principal import Principal
from identity.tenancy.storefront import STOREFRONT_KEY_KIND


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


class ApiKeyThrottle(FixedWindowRateThrottle):
    """Every call of an API key, per key (after the key was checked)."""

    scope = "api_key"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        principal = request.user
        if not isinstance(principal, Principal) or not principal.is_api_key:
            return None
        return self.cache_format % {"scope": self.scope, "ident": principal.subject_id}
