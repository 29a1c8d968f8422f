"""Customers of an identity provider with a static public key (PEM): a real RSA key pair
registered as the provider's key, tokens signed with PyJWT, and customer sessions minted
through the API. No HTTP is involved: the provider's key is configured, never fetched.

tests/conftest.py registers the fixtures for every test module.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from identity.customers.providers import provider_save, providers_clear_cache
from identity.models import IdentityProvider, Tenant
from tests.conftest import Storefront, bearer_headers, shopper_headers

ISSUER = "https://login.shop.example/"
AUDIENCE = "api://storefront"
CONTEXT_URL = "/commerceapi/authentication/customercontext"
CART_URL = "/commerceapi/cart"
PROFILE_URL = "/commerceapi/customer"
IDENTITY_TABLES = ("identity_customer", "identity_customeridentity", "identity_identityprovider")


@dataclass(frozen=True)
class KeyPair:
    private_key: rsa.RSAPrivateKey
    public_key_pem: str


def key_pair_generate() -> KeyPair:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_key_pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return KeyPair(private_key=private_key, public_key_pem=public_key_pem)


@dataclass(frozen=True)
class StaticKeyProvider:
    """A registered provider and the private key that signs its access tokens."""

    provider: IdentityProvider
    keys: KeyPair

    def token(
        self, sub: str, *, email: str | None = None, lifetime: int = 3600, **claims: Any
    ) -> str:
        """An RS256 access token for ``sub``; ``claims`` add to or replace the standard ones."""
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.provider.issuer,
            "aud": self.provider.audiences[0],
            "sub": sub,
            "iat": now,
            "exp": now + lifetime,
            "jti": str(uuid.uuid4()),
        }
        if email is not None:
            payload["email"] = email
        payload.update(claims)
        return jwt.encode(
            payload, self.keys.private_key, algorithm="RS256", headers={"typ": "at+jwt"}
        )


def static_key_provider_register(
    *,
    tenant: Tenant,
    keys: KeyPair,
    name: str = "shop-login",
    issuer: str = ISSUER,
    audience: str = AUDIENCE,
) -> StaticKeyProvider:
    provider = provider_save(
        provider=IdentityProvider(
            tenant=tenant,
            name=name,
            issuer=issuer,
            audiences=[audience],
            public_key_pem=keys.public_key_pem,
            algorithms=["RS256"],
        )
    )
    # The registry is cleared after commit, which never comes inside a test's transaction.
    providers_clear_cache()
    return StaticKeyProvider(provider=provider, keys=keys)


@dataclass(frozen=True)
class CustomerSession:
    """A signed-in customer: the provider's bearer and the context minted for it."""

    token: str
    context: str
    customer_id: str

    def headers(self) -> dict[str, str]:
        return shopper_headers(self.token, self.context)


def customer_session(api: APIClient, token: str) -> CustomerSession:
    answer = api.get(CONTEXT_URL, **bearer_headers(token))
    assert answer.status_code == 200, answer.content
    body = answer.json()
    return CustomerSession(
        token=token, context=body["customerContext"], customer_id=body["customerId"]
    )


class CustomerTokenSigner(Protocol):
    def __call__(
        self, sub: str, *, email: str | None = None, lifetime: int = 3600, **claims: Any
    ) -> str: ...


class CustomerShopper(Protocol):
    def __call__(
        self, sub: str = "customer-1", *, email: str | None = None, **claims: Any
    ) -> CustomerSession: ...


def identity_queries(captured: CaptureQueriesContext) -> list[str]:
    return [
        query["sql"]
        for query in captured.captured_queries
        if any(table in query["sql"] for table in IDENTITY_TABLES)
    ]


@pytest.fixture(scope="session")
def provider_keys() -> KeyPair:
    return key_pair_generate()


@pytest.fixture
def fresh_provider_registry() -> Iterator[None]:
    """No provider settings cached from before the test, nor left for the next one."""
    providers_clear_cache()
    yield
    providers_clear_cache()


@pytest.fixture
def static_provider(
    storefront: Storefront, provider_keys: KeyPair, fresh_provider_registry: None
) -> StaticKeyProvider:
    return static_key_provider_register(tenant=storefront.tenant, keys=provider_keys)


@pytest.fixture
def customer_token(static_provider: StaticKeyProvider) -> CustomerTokenSigner:
    """Sign an access token of the registered provider: ``customer_token(sub, email=...)``."""
    return static_provider.token


@pytest.fixture
def customer_shopper(api: APIClient, customer_token: CustomerTokenSigner) -> CustomerShopper:
    """Sign in: a fresh provider token for ``sub`` and the customer context minted for it."""

    def sign_in(
        sub: str = "customer-1", *, email: str | None = None, **claims: Any
    ) -> CustomerSession:
        return customer_session(api, customer_token(sub, email=email, **claims))

    return sign_in
