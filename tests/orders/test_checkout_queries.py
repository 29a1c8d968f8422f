"""A checkout is a constant number of queries, whatever the number of lines; so are the reads
of orders."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from carts.owners import CartOwner
from carts.services import cart_line_add
from catalog.models import Product
from tests.carts.test_cart_queries import fill as cart_fill
from tests.conftest import Shopper, Storefront, anonymous_shopper
from tests.orders.order_fixtures import ORDERS_URL, guest_checkout

pytestmark = pytest.mark.django_db

# What a guest's checkout costs, by statement, on a warm process (authentication needs none).
CHECKOUT_QUERIES = {
    "postgresql": [
        "SAVEPOINT",  # the idempotency helper's transaction
        "SELECT set_config",  # its bound on lock waits
        "SAVEPOINT",  # the key's record: inserted first, in a savepoint of its own
        "INSERT",
        "RELEASE",
        "SELECT",  # the tenant: slug and currency, before any lock
        "SAVEPOINT",  # the checkout service's transaction
        "SELECT",  # the open cart, locked
        "SELECT",  # the anonymous id is not migrated meanwhile
        "SELECT",  # the cart's lines
        "SELECT",  # their products, locked in primary-key order
        "UPDATE",  # the stock of every product with limited stock, guarded
        "INSERT",  # the tenant's next order number
        "INSERT",  # the order
        "INSERT",  # its lines, all of them
        "INSERT",  # the first entry of its history
        "UPDATE",  # the cart closed as ordered
        "RELEASE",
        "UPDATE",  # the answer stored with the key
        "RELEASE",
    ],
}
CHECKOUT_QUERIES["sqlite"] = [
    query for query in CHECKOUT_QUERIES["postgresql"] if query != "SELECT set_config"
]


def fill(storefront: Storefront, shopper: Shopper, number_of_lines: int) -> None:
    """The cart-read tests' cart of ``number_of_lines`` lines, of products with stock."""
    cart_fill(storefront, shopper, number_of_lines)
    Product.objects.filter(tenant=storefront.tenant, sku__startswith="LINE-").update(stock=100)


def statement_kinds(captured: CaptureQueriesContext) -> list[str]:
    kinds = []
    for query in captured.captured_queries:
        sql = query["sql"].lstrip().upper()
        kinds.append("SELECT set_config" if "SET_CONFIG" in sql else sql.split()[0])
    return kinds


@pytest.mark.parametrize("number_of_lines", [1, 10, 50])
def test_a_checkout_is_a_constant_number_of_queries(
    api: APIClient, storefront: Storefront, number_of_lines: int
) -> None:
    # given a warm process and a guest with a cart of 1, 10 or 50 lines
    shopper = anonymous_shopper(api, storefront.key)
    fill(storefront, shopper, number_of_lines)
    assert api.get("/commerceapi/cart", **shopper.headers()).status_code == 200

    # when the guest checks out
    with CaptureQueriesContext(connection) as captured:
        answer = guest_checkout(api, shopper)

    # then it took the same statements, whatever the number of lines
    assert answer.status_code == 201, answer.content
    assert len(answer.json()["lines"]) == number_of_lines
    assert statement_kinds(captured) == CHECKOUT_QUERIES[connection.vendor], [
        query["sql"] for query in captured.captured_queries
    ]
    assert Product.objects.filter(stock__lt=100).count() == number_of_lines


def test_a_customers_checkout_reads_the_profile_e_mail_once(
    api: APIClient, customer_shopper: object, products: dict[str, Product]
) -> None:
    ada = customer_shopper("auth0|ada", email="ada@example.com")  # type: ignore[operator]
    owner = CartOwner(tenant_id=products["mug"].tenant_id, customer_id=ada.customer_id)
    cart_line_add(owner=owner, sku="CAP", quantity=1)
    assert api.get("/commerceapi/cart", **ada.headers()).status_code == 200

    with CaptureQueriesContext(connection) as captured:
        answer = api.post(ORDERS_URL, {}, format="json", HTTP_IDEMPOTENCY_KEY="k", **ada.headers())

    assert answer.status_code == 201, answer.content
    # a customer's cart needs no migration check; the profile's e-mail is one query
    assert len(captured) == len(CHECKOUT_QUERIES[connection.vendor]), captured.captured_queries
    assert sum("identity_customer" in query["sql"] for query in captured.captured_queries) == 1


@pytest.mark.parametrize("number_of_orders", [1, 5])
def test_the_list_of_orders_is_a_constant_number_of_queries(
    api: APIClient, storefront: Storefront, number_of_orders: int
) -> None:
    shopper = anonymous_shopper(api, storefront.key)
    for index in range(number_of_orders):
        fill(storefront, shopper, 3)
        assert guest_checkout(api, shopper, key=f"k{index}").status_code == 201

    with CaptureQueriesContext(connection) as captured:
        answer = api.get(ORDERS_URL, **shopper.headers())

    assert answer.json()["count"] == number_of_orders
    # the count, the page of orders, their lines
    assert len(captured) == 3
