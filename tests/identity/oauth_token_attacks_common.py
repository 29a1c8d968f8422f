"""Helpers and fixtures of the attacks on the token service's own JWTs
(test_oauth_token_attacks, test_oauth_token_claim_attacks): the customer and client kinds,
each with a real token."""

from __future__ import annotations

import string
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from identity.customers.accounts import local_account_create
from identity.models import Customer, SigningKeyPurpose
from tests.conftest import Storefront, bearer_headers, shopper_headers, tables_snapshot
from tests.identity.oauth_helpers import Client, context_for, password_tokens, token_request
from tests.identity.tokens_helpers import (
    CART_URL,
    CONTEXT_URL,
    PROBLEMS,
    RealKey,
    add_to_cart,
    assert_refused_unchanged,
    assert_unauthorized,
    sign,
)

PRODUCTS_URL = "/commerceapi/products"
PROFILE_URL = "/commerceapi/customer"
MIGRATE_URL = "/commerceapi/cart/migrate"
REGISTER_URL = "/commerceapi/customers"
BASE64URL_ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
KINDS = ["customer", "client"]
SHOPPER_REQUIRED_CODE = 2040
INSUFFICIENT_SCOPE_CODE = 2041


@dataclass(frozen=True)
class Kind:
    """One kind of token service token: a real one, honest claims, and a context to send.

    ``context`` is the real token's own context for a customer; a client gets none of its own,
    so a customer's context is sent with it (the cart must refuse it either way).
    """

    name: str
    token: str
    context: str
    storefront: Storefront
    customer: Customer
    other_customer: Customer
    client: Client

    def claims(self, **changes: Any) -> dict[str, Any]:
        """Valid claims of this kind, as the token service writes them; ``changes`` replace."""
        now = int(time.time())
        common = {
            "exp": now + 600,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "tenant": self.storefront.tenant.pk,
            "client_id": self.client.client_id,
            "iss": settings.TOKEN_ISSUER,
            "aud": settings.TOKEN_AUDIENCE,
        }
        if self.name == "customer":
            claims = {
                "token_type": "customer_access",
                **common,
                "iat_ms": now * 1000,
                "sub": str(self.customer.public_id),
                "scope": "cart:read cart:write catalog:read customer:read",
            }
        else:
            claims = {
                "token_type": "client_access",
                **common,
                "sub": self.client.client_id,
                "scope": "cart:read cart:write catalog:read customer:read",
            }
        return {**claims, **changes}


@pytest.fixture(params=KINDS)
def kind(
    request: pytest.FixtureRequest,
    api: APIClient,
    storefront: Storefront,
    sales_channel: Client,
    integration: Client,
    customer: Customer,
    products: dict[str, Any],
) -> Kind:
    """A real token of each kind, issued by /oauth/token, and the cart holding a MUG."""
    other = local_account_create(
        tenant=storefront.tenant, email="bob@example.com", password="another long passphrase 9"
    )
    customer_token = password_tokens(api, sales_channel)["access_token"]
    customer_context = context_for(api, customer_token)
    added = add_to_cart(api, shopper_headers(customer_token, customer_context))
    assert added.status_code == 200, added.content
    if request.param == "customer":
        return Kind(
            "customer",
            customer_token,
            customer_context,
            storefront,
            customer,
            other,
            sales_channel,
        )
    answer = token_request(api, integration.basic(), grant_type="client_credentials")
    assert answer.status_code == 200, answer.content
    return Kind(
        "client",
        answer.json()["access_token"],
        customer_context,
        storefront,
        customer,
        other,
        integration,
    )


def access_sign(
    claims: dict[str, Any],
    *,
    purpose: str = SigningKeyPurpose.ACCESS,
    key: RealKey | None = None,
    **header_changes: Any,
) -> str:
    """``claims`` signed as the token service signs its tokens: with the real access key and
    its (asymmetric) algorithm, or with the key of ``purpose``."""
    return sign(claims, purpose=purpose, key=key, **header_changes)


def context_of(api: APIClient, raw_bearer: str) -> Any:
    return api.get(CONTEXT_URL, **bearer_headers(raw_bearer))


def products_of(api: APIClient, raw_bearer: str) -> Any:
    return api.get(PRODUCTS_URL, **bearer_headers(raw_bearer))


def assert_accepted(api: APIClient, kind: Kind, raw_bearer: str) -> None:
    """The bearer works as its kind does: a customer gets a context and her cart; a client is
    no shopper (403) but reads the catalog."""
    minted = context_of(api, raw_bearer)
    if kind.name == "customer":
        assert minted.status_code == 200, minted.content
        assert minted.json()["customerId"] == str(kind.customer.public_id)
        cart = api.get(CART_URL, **shopper_headers(raw_bearer, minted.json()["customerContext"]))
        assert cart.status_code == 200, cart.content
        assert cart.json()["isAnonymous"] is False
        assert [line["sku"] for line in cart.json()["lines"]] == ["MUG"]
    else:
        assert minted.status_code == 403, minted.content
        assert minted.json()["code"] == SHOPPER_REQUIRED_CODE
    catalog = products_of(api, raw_bearer)
    assert catalog.status_code == 200, catalog.content


def assert_catalog_unauthorized(response: Any, code: int) -> None:
    """The catalog's 401: the problem of ``code``, naming both schemes it takes."""
    assert response.status_code == 401, response.content
    assert response.json() == PROBLEMS[code]
    assert 'Bearer realm="commerceapi"' in response["WWW-Authenticate"]


def assert_refused_everywhere(api: APIClient, kind: Kind, raw_bearer: str, code: int) -> None:
    """A 401 ``code`` alone, on the catalog, with a context, and on a change; nothing changes."""
    before = tables_snapshot()
    assert_unauthorized(context_of(api, raw_bearer), code)
    assert_catalog_unauthorized(products_of(api, raw_bearer), code)
    assert_unauthorized(api.get(CART_URL, **shopper_headers(raw_bearer, kind.context)), code)
    assert_refused_unchanged(api, shopper_headers(raw_bearer, kind.context), code)
    assert tables_snapshot() == before
