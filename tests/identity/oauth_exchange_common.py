"""Helpers of the token exchange tests (test_oauth_exchange, test_oauth_exchange_claims,
test_oauth_exchange_refusals): exchanging a subject and reading what the token carries."""

from __future__ import annotations

import time
import uuid
from typing import Any

from django.conf import settings
from rest_framework.test import APIClient

from identity.credentials.kinds import CustomerAccessToken
from identity.credentials.tokens import token_decode
from identity.models import Customer, GrantType, OAuthClientKind
from identity.oauth.clients import client_save
from tests.conftest import Storefront
from tests.identity.oauth_helpers import (
    Client,
    make_client,
    token_request,
)

EXCHANGE = GrantType.TOKEN_EXCHANGE.value
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
CUSTOMER_ID_TYPE = "urn:commerceapi:params:oauth:token-type:customer-id"
CUSTOM = "urn:commerceapi:claims"
CART_URL = "/commerceapi/cart"
CART_LINES_URL = "/commerceapi/cart/lines"
ALL_CUSTOMER_SCOPES = "cart:read cart:write catalog:read customer:read"
SUBJECT_INVALID = "The subject token is invalid, expired or revoked."
NOT_A_CUSTOMER_TOKEN = "The subject token is not a customer's access token."
# --- Helpers --------------------------------------------------------------------------------


def exchange(
    api: APIClient,
    client: Client,
    subject_token: str,
    subject_token_type: str = ACCESS_TOKEN_TYPE,
    **form: str,
) -> Any:
    """A token exchange by ``client``, authenticated with HTTP Basic."""
    return token_request(
        api,
        client.basic(),
        grant_type=EXCHANGE,
        subject_token=subject_token,
        subject_token_type=subject_token_type,
        **form,
    )


def exchanged(
    api: APIClient,
    client: Client,
    subject_token: str,
    subject_token_type: str = ACCESS_TOKEN_TYPE,
    **form: str,
) -> dict[str, Any]:
    answer = exchange(api, client, subject_token, subject_token_type, **form)
    assert answer.status_code == 200, answer.content
    return answer.json()


def claims_of(raw_token: str) -> dict[str, Any]:
    """The claims of one of our customer tokens, verified as the API verifies them."""
    return dict(token_decode(CustomerAccessToken, raw_token).payload)


def assert_oauth_error(answer: Any, status: int, error: str, description: str) -> None:
    """Exactly the RFC 6749 error body, never cached."""
    assert answer.status_code == status, answer.content
    assert answer.json() == {"error": error, "error_description": description}
    assert answer["Cache-Control"] == "no-store"


def add_mug(api: APIClient, headers: dict[str, str]) -> Any:
    return api.post(CART_LINES_URL, {"sku": "MUG", "quantity": 1}, format="json", **headers)


def customer_claims(
    storefront: Storefront, customer: Customer, client: Client, **changes: Any
) -> dict[str, Any]:
    """The claims of a customer token as the API writes them, for signing by hand."""
    now = int(time.time())
    claims = {
        "token_type": "customer_access",
        "exp": now + 600,
        "iat": now,
        "iat_ms": now * 1000,
        "jti": uuid.uuid4().hex,
        "sub": str(customer.public_id),
        "tenant": storefront.tenant.pk,
        "client_id": client.client_id,
        "scope": "cart:read",
        "iss": settings.TOKEN_ISSUER,
        "aud": settings.TOKEN_AUDIENCE,
    }
    claims.update(changes)
    return claims


def exchange_client(storefront: Storefront, **fields: Any) -> Client:
    """Another integration that may use token exchange (and nothing else unless told)."""
    fields.setdefault("grant_types", [EXCHANGE])
    fields.setdefault("scopes", ["catalog:read", "cart:read", "cart:write", "customer:read"])
    return make_client(storefront, OAuthClientKind.INTEGRATION, **fields)


def set_lifetime(client: Client, seconds: int) -> None:
    client.client.access_token_lifetime_seconds = seconds
    client_save(client=client.client)
