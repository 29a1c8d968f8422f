"""Helpers and fixtures of the revocation and introspection tests (test_oauth_revocation,
test_oauth_introspection): one token of each kind, held by the web shop and by the ERP."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from identity.credentials.kinds import CustomerAccessToken
from identity.credentials.tokens import token_decode
from identity.models import Customer, GrantType
from tests.conftest import Storefront
from tests.identity.oauth_helpers import (
    PASSWORD,
    Client,
    oauth_post,
    password_tokens,
    token_request,
)
from tests.identity.tokens_helpers import sign

CART_URL = "/commerceapi/cart"
PRODUCTS_URL = "/commerceapi/products"
REVOKE_URL = "/oauth/revoke"
INTROSPECT_URL = "/oauth/introspect"
EXCHANGE = GrantType.TOKEN_EXCHANGE.value
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
ALL_CUSTOMER_SCOPES = "cart:read cart:write catalog:read customer:read"
INACTIVE = {"active": False}
CATALOG_CHALLENGES = 'X-Auth-Key realm="commerceapi", Bearer realm="commerceapi"'
CaptureOnCommit = Callable[..., Any]
# --- Helpers --------------------------------------------------------------------------------


def revoke(api: APIClient, client: Client, token: str, **form: str) -> Any:
    """Revoke ``token`` as ``client``: Basic for a confidential client, client_id for a public
    one."""
    if client.secret:
        return oauth_post(api, REVOKE_URL, client.basic(), token=token, **form)
    return oauth_post(api, REVOKE_URL, client_id=client.client_id, token=token, **form)


def revoke_committed(
    api: APIClient, capture: CaptureOnCommit, client: Client, token: str, **form: str
) -> Any:
    """Revoke, with the after-commit cache writes run as they run outside a test transaction."""
    with capture(execute=True):
        answer = revoke(api, client, token, **form)
    assert answer.status_code == 200, answer.content
    assert answer.content == b""
    assert answer["Cache-Control"] == "no-store"
    return answer


def introspect(api: APIClient, client: Client, token: str) -> Any:
    answer = oauth_post(api, INTROSPECT_URL, client.basic(), token=token)
    assert answer["Cache-Control"] == "no-store"
    return answer


def introspection(api: APIClient, client: Client, token: str) -> dict[str, Any]:
    answer = introspect(api, client, token)
    assert answer.status_code == 200, answer.content
    return dict(answer.json())


def claims_of(raw_token: str) -> dict[str, Any]:
    return dict(token_decode(CustomerAccessToken, raw_token).payload)


def cart_status(api: APIClient, access_token: str, context_headers: dict[str, str]) -> int:
    """The status of reading the cart with ``access_token`` and its (earlier minted) context."""
    assert context_headers["HTTP_AUTHORIZATION"] == f"Bearer {access_token}"
    return int(api.get(CART_URL, **context_headers).status_code)


def refresh(api: APIClient, client: Client, refresh_token: str) -> Any:
    if client.secret:
        return token_request(
            api, client.basic(), grant_type="refresh_token", refresh_token=refresh_token
        )
    return token_request(
        api, grant_type="refresh_token", client_id=client.client_id, refresh_token=refresh_token
    )


def client_token(api: APIClient, client: Client) -> str:
    answer = token_request(api, client.basic(), grant_type="client_credentials")
    assert answer.status_code == 200, answer.content
    return str(answer.json()["access_token"])


def integration_sign_in(api: APIClient, client: Client) -> dict[str, Any]:
    """A password sign-in through the confidential client (it holds every grant)."""
    answer = token_request(
        api,
        client.basic(),
        grant_type="password",
        username="ada@example.com",
        password=PASSWORD,
    )
    assert answer.status_code == 200, answer.content
    return dict(answer.json())


def expired_customer_token(storefront: Storefront, customer: Customer, client: Client) -> str:
    now = int(time.time())
    return sign(
        {
            "token_type": "customer_access",
            "exp": now - 60,
            "iat": now - 960,
            "jti": uuid.uuid4().hex,
            "sub": str(customer.public_id),
            "tenant": storefront.tenant.pk,
            "client_id": client.client_id,
            "scope": "cart:read",
            "iss": settings.TOKEN_ISSUER,
            "aud": settings.TOKEN_AUDIENCE,
        }
    )


@dataclass
class Tokens:
    """One of each kind of token, held by the web shop and by the ERP."""

    shop_customer: str
    shop_refresh: str
    erp_client: str
    erp_customer: str
    erp_refresh: str


@pytest.fixture
def tokens(
    api: APIClient, sales_channel: Client, integration: Client, customer: Customer
) -> Tokens:
    shop = password_tokens(api, sales_channel)
    erp = integration_sign_in(api, integration)
    return Tokens(
        shop_customer=shop["access_token"],
        shop_refresh=shop["refresh_token"],
        erp_client=client_token(api, integration),
        erp_customer=erp["access_token"],
        erp_refresh=erp["refresh_token"],
    )
