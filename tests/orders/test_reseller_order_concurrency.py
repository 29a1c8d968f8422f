"""Partners' orders at once, with real threads, each on its own database connection
(PostgreSQL: row locks and the unique index on idempotency keys decide).

- one Idempotency-Key 20 times at once: one order, 20 equal answers;
- 20 orders of the last units at once: exactly as many orders as units, never oversold.
"""

from __future__ import annotations

from collections import Counter

import pytest
from rest_framework.test import APIClient

from catalog.models import Product
from core.models import IdempotencyRecord
from orders.models import Order
from tests.carts.migration_fixtures import answers_of
from tests.conftest import Storefront
from tests.factories import ProductFactory
from tests.identity.reseller_helpers import (
    Partner,
    generate_token,
    reseller_order_body,
    reseller_order_post,
)

THREADS = 20
UNITS = 5

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_one_key_twenty_times_at_once_makes_one_order(
    partner: Partner, products: dict[str, Product]
) -> None:
    token = generate_token(APIClient(), partner)

    answers = answers_of(
        [lambda: reseller_order_post(APIClient(), token, key="double-click")] * THREADS
    )

    assert [answer.status_code for answer in answers] == [201] * THREADS
    assert len({answer.content for answer in answers}) == 1
    replayed = sorted(answer.get("Idempotent-Replayed", "") for answer in answers)
    assert replayed == [""] + ["true"] * (THREADS - 1)
    assert Order.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
    assert Product.objects.get(sku="CAP").stock == 2


def test_twenty_orders_for_the_last_units_never_oversell(
    storefront: Storefront, partner: Partner, products: dict[str, Product]
) -> None:
    ProductFactory(tenant=storefront.tenant, sku="LAST", unit_price="30.00", stock=UNITS)
    token = generate_token(APIClient(), partner)
    body = reseller_order_body(lines=[{"sku": "LAST", "quantity": 1}], expectedTotal="30.00")

    answers = answers_of(
        [
            lambda index=index: reseller_order_post(APIClient(), token, body, key=f"key-{index}")
            for index in range(THREADS)
        ]
    )

    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {201: UNITS, 400: THREADS - UNITS}, [a.content for a in answers]
    assert {answer.json()["code"] for answer in answers if answer.status_code == 400} == {5003}
    assert Product.objects.get(sku="LAST").stock == 0
    assert Order.objects.count() == UNITS
