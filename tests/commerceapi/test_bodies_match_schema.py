"""Every endpoint's answers, successes and refusals, match the OpenAPI schema it publishes.

The schema is generated as /api/schema/ serves it; each answer is checked against the
response schema of its operation, status and media type (OpenAPI 3.0's ``nullable`` read as
JSON Schema's ``null``), and every operation of the schema is called at least once.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from tests.conftest import Storefront, anonymous_shopper, bearer_headers
from tests.factories import ProductFactory
from tests.identity.api_keys_common import IssuedKey
from tests.identity.oauth_helpers import (
    Client,
    client_token_request,
    customer_headers,
    password_tokens,
    token_request,
)
from tests.identity.reseller_helpers import make_partner, partner_headers, reseller_order_body


def _as_json_schema(node: Any, components: dict[str, Any]) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: ``$ref`` resolved, ``nullable`` as ``null``."""
    if isinstance(node, list):
        return [_as_json_schema(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _as_json_schema(components[node["$ref"].rsplit("/", 1)[1]], components)
    converted = {
        key: _as_json_schema(value, components)
        for key, value in node.items()
        if key not in ("nullable", "readOnly", "writeOnly", "example", "description")
    }
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


class Recorder:
    """Calls the API and checks each answer against the schema of its operation."""

    def __init__(self, openapi: dict[str, Any]) -> None:
        self.openapi = openapi
        self.api = APIClient()
        self.called: set[tuple[str, str]] = set()
        self.operations = {
            (path, method.upper()): operation
            for path, methods in openapi["paths"].items()
            for method, operation in methods.items()
        }

    def _operation(self, path: str, method: str) -> tuple[str, dict[str, Any]]:
        for (template, template_method), operation in self.operations.items():
            pattern = (
                "^"
                + re.sub(
                    r"\{[^}]+\}",
                    "[^/]+",
                    re.escape(template).replace(r"\{", "{").replace(r"\}", "}"),
                )
                + "$"
            )
            if template_method == method and re.match(pattern, path):
                return template, operation
        raise AssertionError(f"{method} {path} is not in the schema")

    def __call__(self, method: str, path: str, status: int, **kwargs: Any) -> Any:
        answer = getattr(self.api, method.lower())(path, **kwargs)
        assert answer.status_code == status, (method, path, answer.content)
        template, operation = self._operation(path.split("?", 1)[0], method)
        self.called.add((template, method))
        responses = operation["responses"]
        documented = responses.get(str(status))
        assert documented is not None, f"{method} {template} does not document {status}"
        content = documented.get("content")
        if content is None:
            assert not answer.content, f"{method} {template} {status} answers a body"
            return answer
        media_type = answer["Content-Type"].split(";", 1)[0]
        assert media_type in content, (method, template, status, media_type, list(content))
        if media_type.endswith("json"):
            schema = _as_json_schema(
                content[media_type]["schema"], self.openapi["components"]["schemas"]
            )
            jsonschema.validate(answer.json(), schema)
        return answer


@pytest.mark.django_db
def test_every_endpoints_answers_match_the_schema(
    openapi: dict[str, Any],
    storefront: Storefront,
    products: dict[str, Any],
    sales_channel: Client,
    integration: Client,
    loyalty_app: Client,
    customer: Any,
    supplier_key: IssuedKey,
    payment_key: IssuedKey,
) -> None:
    call = Recorder(openapi)
    key = {"HTTP_X_AUTH_KEY": storefront.key}

    # the storefront's own calls
    call("GET", "/commerceapi/products", 200, **key)
    call("GET", "/commerceapi/products/MUG", 200, **key)
    call("GET", "/commerceapi/products/NOPE", 404, **key)
    call("GET", "/commerceapi/products", 401)
    call("POST", "/commerceapi/authentication/", 200, **key)
    call(
        "POST",
        "/commerceapi/authentication/",
        400,
        data={"anonymousAuthenticationRequest": 1},
        format="json",
        **key,
    )

    # an anonymous shopper's cart
    shopper = anonymous_shopper(call.api, storefront.key)
    call("GET", "/commerceapi/authentication/customercontext", 200, **bearer_headers(shopper.token))
    call("GET", "/commerceapi/authentication/customercontext", 401, **bearer_headers("nope"))
    call("GET", "/commerceapi/cart", 200, **shopper.headers())
    call(
        "POST",
        "/commerceapi/cart/lines",
        200,
        data={"sku": "MUG", "quantity": 2},
        format="json",
        **shopper.headers(),
    )
    call(
        "POST",
        "/commerceapi/cart/lines",
        400,
        data={"sku": "CAP", "quantity": 9},
        format="json",
        **shopper.headers(),
    )
    call(
        "PATCH",
        "/commerceapi/cart/lines/MUG",
        200,
        data={"quantity": 3},
        format="json",
        **shopper.headers(),
    )
    call(
        "PATCH",
        "/commerceapi/cart/lines/TEE",
        404,
        data={"quantity": 3},
        format="json",
        **shopper.headers(),
    )
    call("GET", "/commerceapi/cart", 200, **shopper.headers())
    call("GET", "/commerceapi/customer", 403, **shopper.headers())
    call("GET", "/customer/current.jwt", 404, **shopper.headers())

    # the token service
    guest = token_request(
        call.api, grant_type="client_credentials", client_id=sales_channel.client_id
    )
    call(
        "POST",
        "/commerceapi/customers",
        201,
        data={"email": "grace@example.com", "password": "a long passphrase 123"},
        format="json",
        **bearer_headers(guest.json()["access_token"]),
    )
    call(
        "POST",
        "/commerceapi/customers",
        409,
        data={"email": "grace@example.com", "password": "a long passphrase 123"},
        format="json",
        **bearer_headers(guest.json()["access_token"]),
    )
    call(
        "POST",
        "/oauth/token",
        200,
        data="grant_type=password&username=ada%40example.com&password=correct+horse+battery+staple&client_id="
        + sales_channel.client_id,
        content_type="application/x-www-form-urlencoded",
    )
    call(
        "POST",
        "/oauth/token",
        400,
        data="grant_type=password&username=ada%40example.com&password=wrong&client_id="
        + sales_channel.client_id,
        content_type="application/x-www-form-urlencoded",
    )
    call(
        "POST",
        "/oauth/token",
        401,
        data="grant_type=client_credentials&client_id=ci_00000000000000000000&client_secret=x",
        content_type="application/x-www-form-urlencoded",
    )
    tokens = password_tokens(call.api, sales_channel)
    client_token = client_token_request(
        call.api, integration, grant_type="client_credentials"
    ).json()["access_token"]
    for token in (tokens["access_token"], tokens["refresh_token"], "nope"):
        call(
            "POST",
            "/oauth/introspect",
            200,
            data=f"token={token}",
            content_type="application/x-www-form-urlencoded",
            **integration.basic(),
        )
    call(
        "POST",
        "/oauth/revoke",
        200,
        data=f"token={client_token}",
        content_type="application/x-www-form-urlencoded",
        **integration.basic(),
    )
    call("GET", "/.well-known/jwks.json", 200)
    call("GET", "/.well-known/oauth-authorization-server", 200)
    call("GET", "/.well-known/openid-configuration", 200)

    # a signed-in customer
    headers = customer_headers(call.api, tokens["access_token"])
    call("GET", "/commerceapi/customer", 200, **headers)
    call("GET", f"/customer/current.jwt?app_client_id={loyalty_app.client_id}", 200, **headers)
    call(
        "POST",
        "/commerceapi/cart/migrate",
        200,
        data={"anonymousId": shopper.anonymous_id, "anonymousToken": shopper.token},
        format="json",
        **headers,
    )
    call(
        "POST",
        "/commerceapi/cart/migrate",
        400,
        data={"anonymousId": "nope"},
        format="json",
        **headers,
    )
    # the customer checks out, retries, and reads the order
    checkout = {"data": {}, "format": "json", **headers}
    call("POST", "/commerceapi/orders", 400, **checkout)
    call("POST", "/commerceapi/orders", 201, HTTP_IDEMPOTENCY_KEY="order-1", **checkout)
    call("POST", "/Orders/Create", 201, HTTP_IDEMPOTENCY_KEY="order-1", **checkout)
    call(
        "POST",
        "/Orders/Create",
        422,
        data={"email": "other@example.com"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="order-1",
        **headers,
    )
    call("POST", "/commerceapi/orders", 409, HTTP_IDEMPOTENCY_KEY="order-2", **checkout)
    call("GET", "/commerceapi/orders", 200, **headers)
    call("GET", "/commerceapi/orders/ACME-000001", 200, **headers)
    call("GET", "/commerceapi/orders/ACME-999999", 404, **headers)
    call(
        "POST",
        "/commerceapi/cart/lines",
        200,
        data={"sku": "MUG", "quantity": 1},
        format="json",
        **headers,
    )
    call("DELETE", "/commerceapi/cart/lines/MUG", 200, **headers)
    call("DELETE", "/commerceapi/cart", 200, **headers)
    call("POST", "/commerceapi/customer/sign-out-everywhere", 200, **headers)
    call("GET", "/commerceapi/cart", 401, **bearer_headers(tokens["access_token"]))

    # a reseller partner generates its token, places an order and reads it back
    partner = make_partner(storefront.tenant, "Partner A")
    reseller = call("POST", "/reseller/token", 200, data=partner.body(), format="json")
    call("POST", "/reseller/token", 401, data={"clientId": partner.client_id}, format="json")
    call(
        "POST",
        "/reseller/token",
        400,
        data=partner.body(),
        format="json",
        **partner.basic(),
    )
    partner_auth = partner_headers(reseller.json()["accessToken"])
    order = reseller_order_body(lines=[{"sku": "MUG", "quantity": 1}], expectedTotal="9.50")
    placed = call(
        "POST",
        "/reseller/orders",
        201,
        data=order,
        format="json",
        HTTP_IDEMPOTENCY_KEY="partner-1",
        **partner_auth,
    )
    call(
        "POST",
        "/reseller/orders",
        409,
        data={**order, "expectedTotal": "1.00"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="partner-2",
        **partner_auth,
    )
    call("POST", "/reseller/orders", 401, data=order, format="json", **key)
    call("GET", "/reseller/orders", 200, **partner_auth)
    call("GET", "/reseller/orders?status=shipped", 400, **partner_auth)
    call("GET", f"/reseller/orders/{placed.json()['orderNumber']}", 200, **partner_auth)
    call("GET", "/reseller/orders/ACME-999999", 404, **partner_auth)
    # the server-to-server surfaces: a supplier's products and stock, a payment provider's events
    supplier = supplier_key.headers()
    product = {"name": "Pears", "unitPrice": "3.20", "stock": 4}
    call("PUT", "/supplier/products/PEAR", 201, data=product, format="json", **supplier)
    call("PUT", "/supplier/products/PEAR", 200, data=product, format="json", **supplier)
    call("PUT", "/supplier/products/MUG", 409, data=product, format="json", **supplier)
    call("GET", "/supplier/products", 200, **supplier)
    call("GET", "/supplier/products?pageSize=0", 400, **supplier)
    call("GET", "/supplier/products", 401)
    call("GET", "/supplier/products", 403, **payment_key.headers())
    call("POST", "/supplier/products/list", 200, data={"pageSize": 1}, format="json", **supplier)
    rows = {"items": [{"sku": "PEAR", "quantity": 2, "mode": "delta"}]}
    stock = {"data": rows, "format": "json", **supplier}
    call("POST", "/supplier/stock", 200, HTTP_IDEMPOTENCY_KEY="stock-1", **stock)
    call("POST", "/supplier/stock", 400, **stock)
    call(
        "POST",
        "/supplier/stock",
        409,
        data={"items": [{"sku": "MUG", "quantity": 2, "mode": "delta"}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="stock-2",
        **supplier,
    )
    payment = payment_key.headers()
    captured = {
        "type": "authorized",
        "amount": "1.00",
        "currency": "EUR",
        "pspReference": "psp-1",
        "occurredAt": "2026-12-03T12:00:00Z",
    }
    events = "/payment/orders/ACME-000001/events"
    call("POST", events, 201, data=captured, format="json", HTTP_IDEMPOTENCY_KEY="e1", **payment)
    call("POST", events, 200, data=captured, format="json", HTTP_IDEMPOTENCY_KEY="e1", **payment)
    call(
        "POST",
        events,
        409,
        data={**captured, "type": "captured", "amount": "2.00", "pspReference": "psp-2"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="e2",
        **payment,
    )
    call("GET", "/payment/orders/ACME-000001", 200, **payment)
    call("GET", "/payment/orders/ACME-999999", 404, **payment)

    # then every operation of the schema was called
    assert set(call.operations) - call.called == set()


@pytest.mark.django_db
def test_a_cart_at_its_limits_and_its_refused_checkout_match_the_schema(
    openapi: dict[str, Any], storefront: Storefront, settings: Any
) -> None:
    # given two of the dearest products a catalog holds
    for sku in ("GOLD", "SILVER"):
        ProductFactory(tenant=storefront.tenant, sku=sku, unit_price=Decimal("9999999999.99"))
    call = Recorder(openapi)
    shopper = anonymous_shopper(call.api, storefront.key)

    # when a shopper puts as many of each in the cart as a line takes, reads it, checks out
    for sku in ("GOLD", "SILVER"):
        line = {"sku": sku, "quantity": settings.CART_MAX_QUANTITY_PER_LINE}
        call("POST", "/commerceapi/cart/lines", 200, data=line, format="json", **shopper.headers())
    cart = call("GET", "/commerceapi/cart", 200, **shopper.headers())
    refused = call(
        "POST",
        "/commerceapi/orders",
        400,
        data={"email": "guest@example.com"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="dear",
        **shopper.headers(),
    )

    # then the cart's amounts, beyond what an order holds, are as its schema describes them
    # (checked by call), and the checkout is the documented 400
    assert cart.json()["subtotal"] == "199979999999800.02"
    assert refused.json()["code"] == 5009
