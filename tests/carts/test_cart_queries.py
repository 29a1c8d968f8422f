"""A cart read is a constant number of queries, whatever the number of lines; so is an add."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from carts.models import Cart
from carts.owners import CartOwner
from carts.services import cart_line_add
from catalog.models import Product
from identity.credentials.keyring import keyring_clear_cache
from tests.conftest import Shopper, Storefront, anonymous_shopper

CART_URL = "/commerceapi/cart"
LINES_URL = "/commerceapi/cart/lines"

# A warm process authenticates a shopper without a query: the bearer and the context are
# verified in memory and the revocation check is a cache read.
WARM_AUTHENTICATION_QUERIES = 0
# A cold one (empty cache, keyring not loaded) reads the signing keys and the revocations once.
COLD_AUTHENTICATION_QUERIES = 2
# The open cart with its lines, their products and the tenant's currency: one join.
CART_READ_QUERIES = 1
# Without a cart the join finds no row, and the currency is read from the tenant.
EMPTY_CART_READ_QUERIES = 2

pytestmark = pytest.mark.django_db


def fill(storefront: Storefront, shopper: Shopper, number_of_lines: int) -> None:
    """``number_of_lines`` lines of distinct products in the shopper's cart, quantities 1-3."""
    owner = CartOwner(tenant_id=storefront.tenant.pk, anonymous_id=shopper.anonymous_id)
    for number in range(number_of_lines):
        product, _ = Product.objects.get_or_create(
            tenant=storefront.tenant,
            sku=f"LINE-{number:03d}",
            defaults={"name": f"Line {number}", "unit_price": "1.25"},
        )
        cart_line_add(owner=owner, sku=product.sku, quantity=number % 3 + 1)


def warm_get(api: APIClient, shopper: Shopper) -> tuple[list[str], dict[str, Any]]:
    """The SQL of a cart read by a warm process, and its answer."""
    assert api.get(CART_URL, **shopper.headers()).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        answer = api.get(CART_URL, **shopper.headers())
    assert answer.status_code == 200, answer.content
    return [query["sql"] for query in queries.captured_queries], answer.json()


@pytest.mark.parametrize("number_of_lines", [1, 10, 50])
def test_get_cart_is_one_query_whatever_the_number_of_lines(
    api: APIClient, storefront: Storefront, shopper: Shopper, number_of_lines: int
) -> None:
    # given a cart with 1, 10 or 50 lines
    fill(storefront, shopper, number_of_lines)

    # when a warm process reads it
    sql, body = warm_get(api, shopper)

    # then one query reads it all, and authentication adds none
    assert len(sql) == WARM_AUTHENTICATION_QUERIES + CART_READ_QUERIES, sql
    assert sql[0].lstrip().upper().startswith("SELECT")
    assert [line["sku"] for line in body["lines"]] == [
        f"LINE-{number:03d}" for number in range(number_of_lines)
    ]
    assert body["itemCount"] == sum(number % 3 + 1 for number in range(number_of_lines))


def test_get_cart_costs_the_same_for_1_10_and_50_lines(
    api: APIClient, storefront: Storefront
) -> None:
    # given three shoppers holding 1, 10 and 50 lines
    shoppers = {}
    for number_of_lines in (1, 10, 50):
        shoppers[number_of_lines] = anonymous_shopper(api, storefront.key)
        fill(storefront, shoppers[number_of_lines], number_of_lines)

    # when each reads their cart
    counts = {}
    for number_of_lines, shopper in shoppers.items():
        sql, body = warm_get(api, shopper)
        assert len(body["lines"]) == number_of_lines
        counts[number_of_lines] = len(sql)

    # then each read cost the same
    assert counts == {1: CART_READ_QUERIES, 10: CART_READ_QUERIES, 50: CART_READ_QUERIES}


def test_get_of_an_empty_cart_is_a_constant_number_of_reads(
    api: APIClient, shopper: Shopper
) -> None:
    # given a shopper without a cart
    # when they read it
    sql, body = warm_get(api, shopper)

    # then the cart lookup and the tenant's currency, both reads; nothing is written
    assert len(sql) == WARM_AUTHENTICATION_QUERIES + EMPTY_CART_READ_QUERIES, sql
    assert all(statement.lstrip().upper().startswith("SELECT") for statement in sql), sql
    assert body["id"] is None
    assert Cart.objects.count() == 0


@pytest.mark.parametrize("number_of_lines", [1, 50])
def test_a_cold_process_adds_only_the_key_and_revocation_reads(
    api: APIClient, storefront: Storefront, shopper: Shopper, number_of_lines: int
) -> None:
    # given a cart, and a process and cache that have forgotten everything
    fill(storefront, shopper, number_of_lines)
    cache.clear()
    keyring_clear_cache()

    # when the cart is read
    with CaptureQueriesContext(connection) as queries:
        answer = api.get(CART_URL, **shopper.headers())

    # then the signing keys and revocations are read once, on top of the one cart read
    assert answer.status_code == 200
    assert len(answer.json()["lines"]) == number_of_lines
    sql = [query["sql"] for query in queries.captured_queries]
    assert len(sql) == COLD_AUTHENTICATION_QUERIES + CART_READ_QUERIES, sql


def add_queries(api: APIClient, shopper: Shopper, sku: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        answer = api.post(
            LINES_URL, {"sku": sku, "quantity": 1}, format="json", **shopper.headers()
        )
    assert answer.status_code == 200, answer.content
    return len(queries)


def test_add_to_cart_does_not_grow_with_the_number_of_lines(
    api: APIClient, storefront: Storefront
) -> None:
    # given two warm shoppers, with 1 and 50 lines, and a product neither holds
    small, large = anonymous_shopper(api, storefront.key), anonymous_shopper(api, storefront.key)
    fill(storefront, small, 1)
    fill(storefront, large, 50)
    Product.objects.create(tenant=storefront.tenant, sku="NEW", name="New", unit_price="2.00")
    for shopper in (small, large):
        assert api.get(CART_URL, **shopper.headers()).status_code == 200

    # when each adds to a line they hold, and a new line
    counts = {
        size: (add_queries(api, shopper, "LINE-000"), add_queries(api, shopper, "NEW"))
        for size, shopper in (("small", small), ("large", large))
    }

    # then both cost the same
    assert counts["small"] == counts["large"]


# An add to a line with room, by statement (the test's own transaction adds the savepoints).
ADD_TO_A_LINE = [
    "SELECT",  # the product, before the transaction
    "UPDATE",  # the open cart locked and touched, in one statement
    "UPDATE",  # the line, guarded by its limit and by the anonymous id not being migrated
    "SELECT",  # the cart read for the answer
]
# An add of a product the cart holds no line of.
ADD_A_NEW_LINE = [
    "SELECT",  # the product
    "UPDATE",  # the open cart locked and touched
    "UPDATE",  # no line to add to
    "SELECT",  # the anonymous id is not migrated
    "SELECT",  # the line's quantity (none)
    "SELECT",  # the cart's number of lines, against its limit
    "INSERT",  # the line
    "UPDATE",  # the cart touched
    "SELECT",  # the cart read
]


def add_statements(api: APIClient, shopper: Shopper, sku: str) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        answer = api.post(
            LINES_URL, {"sku": sku, "quantity": 1}, format="json", **shopper.headers()
        )
    assert answer.status_code == 200, answer.content
    kinds = [query["sql"].lstrip().split()[0].upper() for query in queries.captured_queries]
    return [kind for kind in kinds if kind not in {"SAVEPOINT", "RELEASE"}]


@pytest.mark.parametrize("number_of_lines", [1, 50])
def test_add_to_cart_is_a_fixed_list_of_statements(
    api: APIClient, storefront: Storefront, shopper: Shopper, number_of_lines: int
) -> None:
    # given a warm shopper holding 1 or 50 lines, and a product they do not hold
    fill(storefront, shopper, number_of_lines)
    Product.objects.create(tenant=storefront.tenant, sku="NEW", name="New", unit_price="2.00")
    assert api.get(CART_URL, **shopper.headers()).status_code == 200

    # when they add to a line they hold, then a new line
    to_a_line = add_statements(api, shopper, "LINE-000")
    new_line = add_statements(api, shopper, "NEW")

    # then each is the same few statements, whatever the number of lines
    assert to_a_line == ADD_TO_A_LINE
    assert new_line == ADD_A_NEW_LINE
