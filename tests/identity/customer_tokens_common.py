"""Helpers and fixtures of the tests of customer tokens everywhere a shopper goes
(test_customer_tokens, test_customer_token_scopes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from identity.models import Customer
from tests.conftest import (
    bearer_headers,
    shopper_headers,
)
from tests.identity.oauth_helpers import (
    Client,
    password_tokens,
    token_request,
)

CONTEXT_URL = "/commerceapi/authentication/customercontext"
CART_URL = "/commerceapi/cart"
LINES_URL = "/commerceapi/cart/lines"
MIGRATE_URL = "/commerceapi/cart/migrate"
PROFILE_URL = "/commerceapi/customer"
PRODUCTS_URL = "/commerceapi/products"
ALL_CUSTOMER_SCOPES = "cart:read cart:write catalog:read customer:read"
SHOPPER_REQUIRED = {
    "type": "urn:commerceapi:problem:shopper_required",
    "title": "Shopper token required",
    "status": 403,
    "detail": "This endpoint is for shoppers: an anonymous or customer bearer token with its "
    "context.",
    "code": 2040,
}
INSUFFICIENT_SCOPE = {
    "type": "urn:commerceapi:problem:insufficient_scope",
    "title": "Insufficient scope",
    "status": 403,
    "detail": "The credentials are valid but lack the scope this endpoint needs.",
    "code": 2041,
}
ANONYMOUS_SESSION_ENDED_CODE = 2013


@dataclass(frozen=True)
class SignedIn:
    """A customer's bearer (of the token service or of a provider) and its context."""

    token: str
    context: str
    customer_id: str

    def headers(self) -> dict[str, str]:
        return shopper_headers(self.token, self.context)


def signed_in(api: APIClient, token: str) -> SignedIn:
    answer = api.get(CONTEXT_URL, **bearer_headers(token))
    assert answer.status_code == 200, answer.content
    return SignedIn(token, answer.json()["customerContext"], answer.json()["customerId"])


def password_sign_in(api: APIClient, client: Client, scope: str | None = None) -> dict[str, Any]:
    """The token response of Ada's password sign-in, asking for ``scope`` if given."""
    form = {"scope": scope} if scope is not None else {}
    answer = token_request(
        api,
        grant_type="password",
        client_id=client.client_id,
        username="ada@example.com",
        password="correct horse battery staple",
        **form,
    )
    assert answer.status_code == 200, answer.content
    return answer.json()


def guest_token(api: APIClient, client: Client) -> str:
    """A sales channel's guest token (client_credentials of the public client)."""
    answer = token_request(api, grant_type="client_credentials", client_id=client.client_id)
    assert answer.status_code == 200, answer.content
    return str(answer.json()["access_token"])


def client_token(api: APIClient, client: Client) -> str:
    """A confidential client's own token (client_credentials with its secret)."""
    answer = token_request(api, client.basic(), grant_type="client_credentials")
    assert answer.status_code == 200, answer.content
    return str(answer.json()["access_token"])


def add_line(api: APIClient, headers: dict[str, str], sku: str = "MUG", quantity: int = 1) -> Any:
    return api.post(LINES_URL, {"sku": sku, "quantity": quantity}, format="json", **headers)


def cart_lines(body: dict[str, Any]) -> dict[str, int]:
    return {line["sku"]: line["quantity"] for line in body["lines"]}


@pytest.fixture
def ada(api: APIClient, sales_channel: Client, customer: Customer, products: Any) -> SignedIn:
    """Ada signed in with the password grant, all customer scopes."""
    return signed_in(api, password_tokens(api, sales_channel)["access_token"])
