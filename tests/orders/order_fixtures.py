"""What the order tests share: shoppers with filled carts (a guest and a customer, with real
tokens), the checkout call, the expected order answers, and the problems the endpoints answer.

tests/conftest.py registers the fixtures for every test module.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.response import Response
from rest_framework.test import APIClient

from catalog.models import Product
from orders.models import Order
from tests.carts.migration_fixtures import cart_line, lines_add
from tests.conftest import (
    Shopper,
    Storefront,
    anonymous_shopper,
    anonymous_shopper_from,
    iso,
    problem,
)
from tests.identity.oauth_helpers import token_request
from tests.identity.provider_fixtures import CustomerSession, CustomerShopper

ORDERS_URL = "/commerceapi/orders"
ALIAS_URL = "/Orders/Create"
CUSTOMER_EMAIL = "ada@example.com"
GUEST_EMAIL = "guest@example.com"

Shopping = Shopper | CustomerSession


def checkout(
    api: APIClient,
    shopper: Shopping,
    body: Any = None,
    *,
    key: str | None = "checkout-key-1",
    url: str = ORDERS_URL,
    **extra: Any,
) -> Response:
    """POST the checkout as ``shopper`` with Idempotency-Key ``key`` (None: without one)."""
    headers = {**shopper.headers(), **extra}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return api.post(url, {} if body is None else body, format="json", **headers)


def guest_checkout(api: APIClient, shopper: Shopper, **kwargs: Any) -> Response:
    return checkout(api, shopper, {"email": GUEST_EMAIL}, **kwargs)


def scoped_guest(api: APIClient, sales_channel: Any, scope: str) -> Shopper:
    """A sales channel's guest (client_credentials) holding only ``scope``, with its context."""
    tokens = token_request(
        api, grant_type="client_credentials", client_id=sales_channel.client_id, scope=scope
    ).json()
    assert tokens["scope"] == scope, tokens
    return anonymous_shopper_from(api, tokens["access_token"], "")


# An order's line is what a cart's line is: SKU, name, quantity, unit price, line total.
order_line = cart_line
MUG_AND_CAP = [order_line("MUG", 2, "9.50"), order_line("CAP", 1, "24.00")]


def order_answer(
    number: str, lines: list[dict[str, Any]], *, email: str, customer_id: str | None
) -> dict[str, Any]:
    """The whole answer for the stored order ``number``, whose lines are ``lines``."""
    order = Order.objects.get(number=number)
    total = f"{sum((Decimal(line['lineTotal']) for line in lines), Decimal('0')):.2f}"
    return {
        "orderNumber": number,
        "status": order.status,
        "paymentStatus": order.payment_status,
        "currency": "EUR",
        "lines": lines,
        "itemCount": sum(line["quantity"] for line in lines),
        "subtotal": total,
        "total": total,
        "email": email,
        "customerId": customer_id,
        "placedAt": iso(order.placed_at),
    }


def lines_unavailable(*errors: tuple[str, str, str]) -> dict[str, Any]:
    """The 400 of lines that cannot be ordered: ``(sku, code, message)`` per line."""
    return problem(
        "order_lines_unavailable",
        "Lines cannot be ordered",
        400,
        " ".join(message for _, _, message in errors),
        5003,
        [
            {"field": f"lines.{sku}", "code": code, "message": message}
            for sku, code, message in errors
        ],
    )


CART_EMPTY = problem(
    "cart_empty",
    "Cart is empty",
    409,
    "There is nothing to check out: the cart has no lines.",
    5001,
)


def cart_already_ordered(number: str) -> dict[str, Any]:
    return problem(
        "cart_already_ordered",
        "Cart already ordered",
        409,
        f"The cart was checked out as order {number}; add a line to start a new cart.",
        5002,
    )


ORDER_NOT_FOUND = problem(
    "order_not_found", "Order not found", 404, "No order of yours has this number.", 5006
)
KEY_REUSED = problem(
    "idempotency_key_reused",
    "Idempotency-Key used for another request",
    422,
    "This Idempotency-Key was used with a different request (body or endpoint); use a new key "
    "for a new request. Nothing was done.",
    1052,
)


@pytest.fixture
def carted_guest(api: APIClient, storefront: Storefront, products: dict[str, Product]) -> Shopper:
    """An anonymous shopper with 2 MUG (9.50) and 1 CAP (24.00, stock 3) in the cart: 43.00."""
    shopper = anonymous_shopper(api, storefront.key)
    lines_add(api, shopper, MUG=2, CAP=1)
    return shopper


@pytest.fixture
def carted_customer(
    api: APIClient, customer_shopper: CustomerShopper, products: dict[str, Product]
) -> CustomerSession:
    """A signed-in customer (e-mail ada@example.com) with 2 MUG and 1 CAP in the cart."""
    session = customer_shopper("auth0|ada", email=CUSTOMER_EMAIL)
    lines_add(api, session, MUG=2, CAP=1)
    return session


RECEIVED_EVENTS: list[tuple[str, dict[str, Any]]] = []


def event_record(event: str, payload: dict[str, Any]) -> None:
    """An ORDER_EVENT_HANDLERS handler that keeps what it is given."""
    RECEIVED_EVENTS.append((event, payload))


def event_fail(event: str, payload: dict[str, Any]) -> None:
    raise RuntimeError("subscriber down")


@pytest.fixture
def order_events(settings: Any) -> list[tuple[str, dict[str, Any]]]:
    """The events handed to ORDER_EVENT_HANDLERS during the test (after a failing handler)."""
    RECEIVED_EVENTS.clear()
    settings.ORDER_EVENT_HANDLERS = [
        "tests.orders.order_fixtures.event_fail",
        "tests.orders.order_fixtures.event_record",
    ]
    return RECEIVED_EVENTS
