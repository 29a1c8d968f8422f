"""The surfaces as one contract: every kind of credential on every surface, in one table.

Each cell is a request with one credential to one endpoint of a surface, and the table says
what it answers: the status and, for a refusal, the code; a refused request changes nothing.
A credential of one surface is refused on every other: 401 for a missing, malformed, expired or
foreign-kind credential; 403 for a valid credential of the surface without what the endpoint
needs (a scope, a shopper). docs/surfaces.md holds the same table.

The Supplier and Payment surfaces take an ``ApiKey: <key>`` header. A live API key anywhere
else is refused before any view runs, 403 ``api_key_not_accepted`` (2104: the key is good, the
endpoint is not its); every other credential on their paths is a 401 ``api_key_invalid``
(2100). ``Authorization: ApiKey <key>`` is no API key at all: a bearer surface refuses the
scheme (2002).
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
from orders.services import LineRequest, order_place_from_lines
from tests.conftest import Storefront, anonymous_shopper, bearer_headers, tables_snapshot
from tests.identity.api_keys_common import IssuedKey
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
        return getattr(api, self.method.lower())(
            self.path,
            self.body() if self.body else {},
            format="json",
            HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
            **headers,
        )


# An order of the tenant for the payment provider's events.
PAID_ORDER = "ACME-000001"
ENDPOINTS = {
    "storefront:catalog": Endpoint("storefront", "GET", "/commerceapi/products"),
    "storefront:cart-add": Endpoint(
        "storefront", "POST", "/commerceapi/cart/lines", lambda: {"sku": "MUG", "quantity": 1}
    ),
    "storefront:orders": Endpoint("storefront", "GET", "/commerceapi/orders"),
    "reseller:orders": Endpoint("reseller", "GET", RESELLER_ORDERS_URL),
    "reseller:place": Endpoint("reseller", "POST", RESELLER_ORDERS_URL, reseller_order_body),
    "supplier:product-put": Endpoint(
        "supplier",
        "PUT",
        "/supplier/products/PEAR",
        lambda: {"name": "Pears", "unitPrice": "3.20", "stock": 4},
    ),
    "payment:event": Endpoint(
        "payment",
        "POST",
        f"/payment/orders/{PAID_ORDER}/events",
        lambda: {
            "type": "authorized",
            "amount": "9.50",
            "currency": "EUR",
            "pspReference": f"psp-{uuid.uuid4().hex}",
            "occurredAt": "2026-12-03T12:00:00Z",
        },
    ),
}
OK, CREATED = (200, None), (201, None)
# An API key's surfaces refuse every other credential; every other surface refuses a live key.
KEY_401, KEY_ELSEWHERE = (401, 2100), (403, 2104)
# credential -> the answer of each endpoint, in the order of ENDPOINTS
MATRIX: dict[str, tuple[tuple[int, int | None], ...]] = {
    # credential: catalog, cart add, shopper's orders, partner's orders, partner places,
    # supplier puts a product, payment event
    "none": ((401, 2000), (401, 2000), (401, 2000), (401, 2130), (401, 2130), KEY_401, KEY_401),
    "anonymous-token": (OK, OK, OK, (401, 2130), (401, 2130), KEY_401, KEY_401),
    "customer-token": (OK, OK, OK, (401, 2130), (401, 2130), KEY_401, KEY_401),
    "x-auth-key": (OK, (401, 2000), (403, 2040), (401, 2130), (401, 2130), KEY_401, KEY_401),
    "client-token": (OK, (403, 2040), (403, 2040), (401, 2130), (401, 2130), KEY_401, KEY_401),
    "reseller-token": ((401, 2131),) * 3 + (OK, CREATED, KEY_401, KEY_401),
    "reseller-token-expired": ((401, 2011),) * 5 + (KEY_401, KEY_401),
    "reseller-token-without-bearer-prefix": ((401, 2002),) * 5 + (KEY_401, KEY_401),
    "malformed-bearer": ((401, 2010),) * 5 + (KEY_401, KEY_401),
    "api-key-in-authorization": ((401, 2002),) * 5 + (KEY_401, KEY_401),
    "supplier-key": (KEY_ELSEWHERE,) * 5 + (CREATED, (403, 2101)),
    "payment-key": (KEY_ELSEWHERE,) * 5 + ((403, 2101), CREATED),
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
    supplier_key: IssuedKey,
    payment_key: IssuedKey,
) -> dict[str, dict[str, str]]:
    """Every credential as the headers it is sent with, each valid where it belongs; and an
    order of the tenant (PAID_ORDER) for the payment events."""
    placed = order_place_from_lines(
        tenant_id=storefront.tenant.pk,
        lines=[LineRequest(sku="MUG", quantity=1)],
        email="bob@example.com",
        partner_id=partner.client_id,
    )
    assert placed.order.number == PAID_ORDER
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
        "api-key-in-authorization": {"HTTP_AUTHORIZATION": f"ApiKey {supplier_key.value}"},
        "supplier-key": supplier_key.headers(),
        "payment-key": payment_key.headers(),
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
        assert answer["WWW-Authenticate"].startswith(("Bearer ", "X-Auth-Key ", "ApiKey "))
    assert tables_snapshot() == before


def test_the_matrix_names_every_credential_and_endpoint_once() -> None:
    # a new surface or credential is a new column or row, never a cell left out
    assert all(len(row) == len(ENDPOINTS) for row in MATRIX.values())
    assert {endpoint.surface for endpoint in ENDPOINTS.values()} == {
        "storefront",
        "reseller",
        "supplier",
        "payment",
    }
