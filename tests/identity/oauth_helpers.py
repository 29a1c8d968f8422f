"""Shared helpers of the token service's tests: clients, local customers, token requests."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from identity.customers.accounts import local_account_create
from identity.models import Customer, GrantType, OAuthClient, OAuthClientKind
from identity.oauth.clients import client_create
from tests.conftest import Storefront, shopper_headers

PASSWORD = "correct horse battery staple"
EMAIL = "ada@example.com"


@dataclass
class Client:
    client: OAuthClient
    secret: str

    @property
    def client_id(self) -> str:
        return self.client.client_id

    def basic(self) -> dict[str, str]:
        """The client's credentials as ``Authorization: Basic`` (client_secret_basic)."""
        raw = f"{self.client_id}:{self.secret}".encode()
        return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(raw).decode()}


def make_client(
    storefront: Storefront, kind: str = OAuthClientKind.SALES_CHANNEL, **fields: Any
) -> Client:
    app = storefront.app if kind == OAuthClientKind.SALES_CHANNEL else None
    created = client_create(tenant=storefront.tenant, kind=kind, storefront_app=app, **fields)
    return Client(client=created.client, secret=created.client_secret)


@pytest.fixture
def sales_channel(storefront: Storefront) -> Client:
    """The storefront's public client: client_credentials (guest), password, refresh_token."""
    return make_client(storefront, name="Web shop")


@pytest.fixture
def integration(storefront: Storefront) -> Client:
    """A confidential client with every grant, acting for any customer of its tenant."""
    return make_client(
        storefront,
        OAuthClientKind.INTEGRATION,
        name="ERP",
        grant_types=list(GrantType.values),
        scopes=["catalog:read", "cart:read", "cart:write", "customer:read"],
        may_act_for_any_customer=True,
    )


@pytest.fixture
def loyalty_app(storefront: Storefront) -> Client:
    return make_client(storefront, OAuthClientKind.THIRD_PARTY_APP, name="Loyalty")


@pytest.fixture
def customer(storefront: Storefront) -> Customer:
    """Ada, a customer with a local account (EMAIL, PASSWORD)."""
    return local_account_create(
        tenant=storefront.tenant, email=EMAIL, password=PASSWORD, name="Ada", group="vip"
    )


FORM = "application/x-www-form-urlencoded"


def oauth_post(
    api: APIClient, path: str, headers: dict[str, str] | None = None, **form: str
) -> Any:
    """POST ``form`` as application/x-www-form-urlencoded to an OAuth endpoint."""
    return api.post(path, urlencode(form), content_type=FORM, **(headers or {}))


def token_request(api: APIClient, headers: dict[str, str] | None = None, **form: str) -> Any:
    return oauth_post(api, "/oauth/token", headers, **form)


def client_token_request(api: APIClient, client: Client, **form: str) -> Any:
    """POST /oauth/token as ``client``: by HTTP Basic if it has a secret, else its client_id."""
    if client.secret:
        return token_request(api, client.basic(), **form)
    return token_request(api, client_id=client.client_id, **form)


def password_tokens(
    api: APIClient, client: Client, email: str = EMAIL, password: str = PASSWORD
) -> dict[str, Any]:
    """Sign in with the password grant through a public client; the token response."""
    answer = token_request(
        api, grant_type="password", client_id=client.client_id, username=email, password=password
    )
    assert answer.status_code == 200, answer.content
    return answer.json()


def context_for(api: APIClient, access_token: str) -> str:
    answer = api.get(
        "/commerceapi/authentication/customercontext", HTTP_AUTHORIZATION=f"Bearer {access_token}"
    )
    assert answer.status_code == 200, answer.content
    return str(answer.json()["customerContext"])


def customer_headers(api: APIClient, access_token: str) -> dict[str, str]:
    """Bearer and context of a customer token, ready for a cart call."""
    return shopper_headers(access_token, context_for(api, access_token))
