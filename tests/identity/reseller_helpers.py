"""Reseller partners for the tests: partners of two tenants, their tokens and headers.

tests/conftest.py registers the fixtures for every test module.
"""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from identity.models import OAuthClient, SigningKeyPurpose, Tenant
from identity.oauth.reseller import reseller_create
from tests.conftest import Storefront
from tests.identity.tokens_helpers import sign

RESELLER_TOKEN_URL = "/reseller/token"
RESELLER_ORDERS_URL = "/reseller/orders"
RESELLER_TYP = "reseller+jwt"


@dataclass
class Partner:
    client: OAuthClient
    secret: str

    @property
    def client_id(self) -> str:
        return self.client.client_id

    def body(self) -> dict[str, str]:
        return {"clientId": self.client_id, "clientSecret": self.secret}

    def basic(self) -> dict[str, str]:
        raw = f"{self.client_id}:{self.secret}".encode()
        return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(raw).decode()}


def reseller_claims(partner: Partner, **changes: Any) -> dict[str, Any]:
    """Valid reseller claims, as Generate Token writes them; ``changes`` replace (None: drop)."""
    now = int(time.time())
    claims = {
        "token_type": "reseller_access",
        "exp": now + 600,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "sub": partner.client_id,
        "tenant": partner.client.tenant_id,
        "client_id": partner.client_id,
        "scope": "reseller:orders:read reseller:orders:write",
        "iss": settings.TOKEN_ISSUER,
        "aud": settings.TOKEN_AUDIENCE,
        **changes,
    }
    return {name: value for name, value in claims.items() if value is not None}


def reseller_sign(claims: dict[str, Any], **header_changes: Any) -> str:
    """Signed as the API signs a reseller token: HS256 with the real reseller key."""
    header = {"typ": RESELLER_TYP, **header_changes}
    return sign(claims, purpose=SigningKeyPurpose.RESELLER, **header)


def make_partner(tenant: Tenant, name: str, scopes: list[str] | None = None) -> Partner:
    created = reseller_create(tenant=tenant, name=name, scopes=scopes)
    return Partner(client=created.client, secret=created.client_secret)


def generate_token(api: APIClient, partner: Partner) -> str:
    """Generate Token for ``partner``: its reseller token."""
    answer = api.post(RESELLER_TOKEN_URL, partner.body(), format="json")
    assert answer.status_code == 200, answer.content
    return str(answer.json()["accessToken"])


def partner_headers(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def partner(storefront: Storefront) -> Partner:
    """A partner of acme holding both reseller scopes."""
    return make_partner(storefront.tenant, "Partner A")


@pytest.fixture
def second_partner(storefront: Storefront) -> Partner:
    """Another partner of acme."""
    return make_partner(storefront.tenant, "Partner B")


@pytest.fixture
def foreign_partner(other_storefront: Storefront) -> Partner:
    """A partner of globex, the other tenant."""
    return make_partner(other_storefront.tenant, "Partner A")


@pytest.fixture
def partner_token(api: APIClient, partner: Partner) -> str:
    return generate_token(api, partner)


def reseller_order_body(**changes: Any) -> dict[str, Any]:
    """A partner's order of 2 MUG (9.50) and 1 CAP (24.00), 43.00 in all."""
    body: dict[str, Any] = {
        "customer": {"email": "bob@example.com", "name": "Bob", "externalReference": "CRM-1"},
        "lines": [{"sku": "MUG", "quantity": 2}, {"sku": "CAP", "quantity": 1}],
        "expectedTotal": "43.00",
    }
    body.update(changes)
    return body


def reseller_order_post(
    api: APIClient, token: str, body: Any = None, *, key: str | None = "order-key-1"
) -> Any:
    headers = partner_headers(token)
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return api.post(
        RESELLER_ORDERS_URL,
        reseller_order_body() if body is None else body,
        format="json",
        **headers,
    )
