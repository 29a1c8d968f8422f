"""Stock deltas racing checkouts, with real threads on PostgreSQL: the supplier's product is
locked as a checkout locks it, so no unit is lost or doubled and the stock never goes below
zero."""

from __future__ import annotations

from collections import Counter

import pytest
from rest_framework.test import APIClient

from catalog.models import Product
from identity.models import Supplier
from orders.models import OrderLine
from tests.carts.migration_fixtures import lines_add, race
from tests.conftest import Storefront, anonymous_shopper
from tests.factories import ProductFactory
from tests.identity.api_keys_common import IssuedKey
from tests.orders.order_fixtures import guest_checkout

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SHOPPERS = 10
DELTAS = 10
UNITS = 3


def test_deltas_racing_checkouts_neither_lose_nor_double_units(
    storefront: Storefront, supplier: Supplier, supplier_key: IssuedKey
) -> None:
    ProductFactory(
        tenant=storefront.tenant, supplier=supplier, sku="FIG", unit_price="2.00", stock=UNITS
    )
    shoppers = [anonymous_shopper(APIClient(), storefront.key) for _ in range(SHOPPERS)]
    for shopper in shoppers:
        lines_add(APIClient(), shopper, FIG=1)

    def delta(index: int) -> int:
        answer = APIClient().post(
            "/supplier/stock",
            {"items": [{"sku": "FIG", "quantity": 1, "mode": "delta"}]},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"delta-{index}",
            **supplier_key.headers(),
        )
        return answer.status_code

    calls = [
        lambda shopper=shopper: guest_checkout(APIClient(), shopper).status_code
        for shopper in shoppers
    ]
    calls += [lambda index=index: delta(index) for index in range(DELTAS)]
    outcome = race(calls)
    assert outcome.errors == []

    statuses = Counter(outcome.returned)
    assert statuses[200] == DELTAS, statuses
    sold = OrderLine.objects.filter(sku="FIG").count()
    assert statuses[201] == sold
    assert statuses[201] + statuses[400] == SHOPPERS, statuses
    assert Product.objects.get(sku="FIG").stock == UNITS + DELTAS - sold >= 0
