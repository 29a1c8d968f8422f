"""A migration costs the same number of queries however many lines the carts hold."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from carts.models import Cart, CartLine
from catalog.models import Product
from tests.carts.migration_fixtures import (
    CART_URL,
    cart_quantities,
    customer_cart,
    migrate,
    proof_of,
)
from tests.conftest import Storefront, anonymous_shopper
from tests.identity.provider_fixtures import (
    CustomerShopper,
)

pytestmark = pytest.mark.django_db

LINE_COUNTS = (1, 10, 100)
CUSTOMER_LINES = 5


def products_create(storefront: Storefront, prefix: str, count: int) -> list[Product]:
    """``count`` active products with unlimited stock."""
    return Product.objects.bulk_create(
        Product(
            tenant=storefront.tenant,
            sku=f"{prefix}-{index:03d}",
            name=f"{prefix} {index}",
            unit_price=Decimal("3.00"),
        )
        for index in range(count)
    )


def cart_fill(cart: Cart, products: list[Product], quantity: int) -> None:
    CartLine.objects.bulk_create(
        CartLine(cart=cart, product=product, quantity=quantity, unit_price_seen=product.unit_price)
        for product in products
    )


def migration_query_count(
    api: APIClient,
    storefront: Storefront,
    customer_shopper: CustomerShopper,
    *,
    anonymous_lines: int,
    customer_has_cart: bool,
) -> int:
    """Queries of one migrate request, for an anonymous cart of ``anonymous_lines`` new SKUs
    into a customer cart of 5 lines (or into no cart)."""
    tenant = storefront.tenant
    shopper = anonymous_shopper(api, storefront.key)
    source = Cart.objects.create(
        tenant=tenant,
        anonymous_id=shopper.anonymous_id,
        storefront_app_id=storefront.app.public_id,
    )
    cart_fill(source, products_create(storefront, f"A{anonymous_lines}", anonymous_lines), 2)
    customer = customer_shopper(f"auth0|customer-{anonymous_lines}-{customer_has_cart}")
    if customer_has_cart:
        target = Cart.objects.create(tenant=tenant, customer_id=customer.customer_id)
        cart_fill(target, products_create(storefront, f"C{anonymous_lines}", CUSTOMER_LINES), 1)
    # The customer's first request warms what any later request finds cached.
    assert api.get(CART_URL, **customer.headers()).status_code == 200

    with CaptureQueriesContext(connection) as captured:
        answer = migrate(api, customer, proof_of(shopper))

    assert answer.status_code == 200, answer.content
    report = answer.json()["migration"]["lines"]
    assert [line["outcome"] for line in report] == ["moved"] * anonymous_lines
    quantities = cart_quantities(customer_cart(customer.customer_id))
    assert len(quantities) == anonymous_lines + (CUSTOMER_LINES if customer_has_cart else 0)
    return len(captured.captured_queries)


@override_settings(CART_MAX_LINES=200)
@pytest.mark.parametrize("customer_has_cart", [True, False], ids=["merge", "adopt"])
def test_a_migration_is_a_constant_number_of_queries(
    api: APIClient,
    storefront: Storefront,
    customer_shopper: CustomerShopper,
    customer_has_cart: bool,
) -> None:
    # given anonymous carts of 1, 10 and 100 lines, each migrated by its own customer
    # when each is migrated
    counts = {
        lines: migration_query_count(
            api,
            storefront,
            customer_shopper,
            anonymous_lines=lines,
            customer_has_cart=customer_has_cart,
        )
        for lines in LINE_COUNTS
    }

    # then every migration took as many queries as the smallest
    assert len(set(counts.values())) == 1, counts


def test_the_migration_locks_open_carts_with_the_status_written_into_the_sql(
    api: APIClient, storefront: Storefront, customer_shopper: CustomerShopper
) -> None:
    # given an anonymous cart and a customer cart to merge it into
    shopper = anonymous_shopper(api, storefront.key)
    source = Cart.objects.create(
        tenant=storefront.tenant,
        anonymous_id=shopper.anonymous_id,
        storefront_app_id=storefront.app.public_id,
    )
    cart_fill(source, products_create(storefront, "A", 2), 1)
    customer = customer_shopper("auth0|literal")
    Cart.objects.create(tenant=storefront.tenant, customer_id=customer.customer_id)
    executed: list[tuple[str, tuple[object, ...]]] = []

    def record(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        executed.append((sql, tuple(params or ())))
        return execute(sql, params, many, context)

    # when the migration runs
    with connection.execute_wrapper(record):
        answer = migrate(api, customer, proof_of(shopper))
    assert answer.status_code == 200, answer.content

    # then the carts are locked by a query whose open status is SQL text, not a bound value,
    # so that a prepared statement's generic plan can use the partial indexes on open carts
    quote = connection.ops.quote_name
    status_test = f"{quote(Cart._meta.db_table)}.{quote('status')} = "
    locks = [(sql, params) for sql, params in executed if status_test in sql]
    assert locks, executed
    for sql, params in locks:
        assert f"{status_test}'open'" in sql
        assert "open" not in params
        if connection.vendor == "postgresql":
            assert "FOR UPDATE" in sql
