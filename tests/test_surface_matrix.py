"""The surfaces as one contract: every kind of credential on every surface, in one table.

Each cell is a request with one credential to one endpoint of a surface, and the table says
what it answers: the status and, for a refusal, the code; a refused request changes nothing.
A credential of one surface is refused on every other: 401 for a missing, malformed, expired or
foreign-kind credential; 403 for a valid credential of the surface without what the endpoint
needs (a scope, a shopper). docs/surfaces.md holds the same table.

The Supplier and Payment surfaces take ``ApiKey`` credentials; until they are served, an
``Authorization: ApiKey`` header stands for them here, and shows it refused on the bearer
surfaces. Their keys become rows and their endpoints columns of ``MATRIX``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from identity.models import OAuthClientKind
from tests.conftest import Storefront, anonymous_shopper, bearer_headers, tables_snapshot
from tests.identity.oauth_helpers import (
    customer_headers,
    make_client,
    password_tokens,
    token_request,
)
from tests.identity.reseller_helpers import (
    RESELLER_ORDERS_URL,
    Partner,
    generate_token,
    reseller_claims,
    reseller_order_body,
    reseller_sign,
)

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Endpoint:
    surface: str
    method: str
    path: str
    body: Callable[[], Any] | None = None

    def call(self, api: APIClient, headers: dict[str, str]) -> Any:
        if self.method == "GET":
            return api.get(self.path, **headers)
        return api.post(
            self.path,
            self.body() if self.body else {},
            format="json",
            HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
            **headers,
        )


ENDPOINTS = {
    "storefront:catalog": Endpoint("storefront", "GET", "/commerceapi/products"),
    "storefront:cart-add": Endpoint(
        "storefront", "POST", "/commerceapi/cart/lines", lambda: {"sku": "MUG", "quantity": 1}
    ),
    "storefront:orders": Endpoint("storefront", "GET", "/commerceapi/orders"),
    "reseller:orders": Endpoint("reseller", "GET", RESELLER_ORDERS_URL),
    "reseller:place": Endpoint("reseller", "POST", RESELLER_ORDERS_URL, reseller_order_body),
}
OK, CREATED = (200, None), (201, None)
# credential -> the answer of each endpoint, in the order of ENDPOINTS
MATRIX: dict[str, tuple[tuple[int, int | None], ...]] = {
    "none": ((401, 2000), (401, 2000), (401, 2000), (401, 2130), (401, 2130)),
    "anonymous-token": (OK, OK, OK, (401, 2130), (401, 2130)),
    "customer-token": (OK, OK, OK, (401, 2130), (401, 2130)),
    "x-auth-key": (OK, (401, 2000), (403, 2040), (401, 2130), (401, 2130)),
    "client-token": (OK, (403, 2040), (403, 2040), (401, 2130), (401, 2130)),
    "reseller-token": ((401, 2131), (401, 2131), (401, 2131), OK, CREATED),
    "reseller-token-expired": ((401, 2011), (401, 2011), (401, 2011), (401, 2011), (401, 2011)),
    "reseller-token-without-bearer-prefix": ((401, 2002),) * 5,
    "malformed-bearer": ((401, 2010),) * 5,
    "api-key-scheme": ((401, 2002),) * 5,
}
CELLS = [
    pytest.param(credential, endpoint, expected, id=f"{credential}-on-{endpoint}")
    for credential, row in MATRIX.items()
    for endpoint, expected in zip(ENDPOINTS, row, strict=True)
]


def _expired_reseller_token(partner: Partner) -> str:
    now = int(time.time())
    return reseller_sign(reseller_claims(partner, iat=now - 960, exp=now - 60))


@pytest.fixture
def credentials(
    api: APIClient,
    storefront: Storefront,
    products: dict[str, Any],
    customer: Any,
    partner: Partner,
) -> dict[str, dict[str, str]]:
    """Every credential as the headers it is sent with, each valid where it belongs."""
    sales_channel = make_client(storefront, name="Web shop")
    integration = make_client(storefront, OAuthClientKind.INTEGRATION, name="ERP")
    client_token = token_request(api, integration.basic(), grant_type="client_credentials")
    reseller_token = generate_token(api, partner)
    return {
        "none": {},
        "anonymous-token": anonymous_shopper(api, storefront.key).headers(),
        "customer-token": customer_headers(
            api, password_tokens(api, sales_channel)["access_token"]
        ),
        "x-auth-key": {"HTTP_X_AUTH_KEY": storefront.key},
        "client-token": bearer_headers(client_token.json()["access_token"]),
        "reseller-token": bearer_headers(reseller_token),
        "reseller-token-expired": bearer_headers(_expired_reseller_token(partner)),
        "reseller-token-without-bearer-prefix": {"HTTP_AUTHORIZATION": reseller_token},
        "malformed-bearer": bearer_headers("not-a-jwt"),
        "api-key-scheme": {"HTTP_AUTHORIZATION": f"ApiKey ak_{uuid.uuid4().hex}"},
    }


@pytest.mark.parametrize(("credential", "endpoint", "expected"), CELLS)
def test_surface_matrix(
    api: APIClient,
    credentials: dict[str, dict[str, str]],
    credential: str,
    endpoint: str,
    expected: tuple[int, int | None],
) -> None:
    status, code = expected
    before = tables_snapshot()

    answer = ENDPOINTS[endpoint].call(api, credentials[credential])

    assert answer.status_code == status, answer.content
    if code is None:
        return
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == code
    if status == 401:
        assert answer["WWW-Authenticate"].startswith(("Bearer ", "X-Auth-Key "))
    assert tables_snapshot() == before


def test_the_matrix_names_every_credential_and_endpoint_once() -> None:
    # a new surface or credential is a new column or row, never a cell left out
    assert all(len(row) == len(ENDPOINTS) for row in MATRIX.values())
    assert {endpoint.surface for endpoint in ENDPOINTS.values()} == {"storefront", "reseller"}
