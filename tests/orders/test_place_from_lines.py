"""``order_place_from_lines``: a partner's order from a list of lines for its own customer, on
the same pricing, stock and numbering path as a checkout."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test.utils import override_settings
from rest_framework.test import APIClient

from catalog.models import Product
from core.errors import DomainError
from orders.models import Order, OrderStatusChange
from orders.services import LineRequest, order_place_from_lines
from tests.conftest import Shopper, Storefront, tables_snapshot
from tests.orders.order_fixtures import guest_checkout

pytestmark = pytest.mark.django_db

PARTNER = "pt_0a1b2c"


def place(storefront: Storefront, *lines: tuple[str, int], **fields: Any) -> Any:
    return order_place_from_lines(
        tenant_id=storefront.tenant.pk,
        lines=[LineRequest(sku=sku, quantity=quantity) for sku, quantity in lines],
        **{
            "email": "buyer@partner.example",
            "customer_name": "Grace Hopper",
            "external_reference": "PO-4711",
            "partner_id": PARTNER,
            **fields,
        },
    )


def refusal(call: Any) -> DomainError:
    with pytest.raises(DomainError) as refused:
        call()
    return refused.value


def field_errors(error: DomainError) -> list[tuple[str, str]]:
    return [(item.field, item.code) for item in error.errors]


def test_a_partner_places_an_order_for_its_customer(
    storefront: Storefront, products: dict[str, Product]
) -> None:
    placed = place(storefront, ("CAP", 2), ("MUG", 1))

    order = Order.objects.get()
    assert placed.order == order
    assert (order.channel, order.partner_id, order.customer_name, order.external_reference) == (
        "reseller",
        PARTNER,
        "Grace Hopper",
        "PO-4711",
    )
    assert (order.email, order.customer_id, order.anonymous_id, order.cart_id) == (
        "buyer@partner.example",
        None,
        None,
        None,
    )
    assert (order.number, order.total, order.item_count) == ("ACME-000001", Decimal("57.50"), 3)
    assert [(line.sku, line.quantity, line.unit_price) for line in placed.lines] == [
        ("CAP", 2, Decimal("24.00")),
        ("MUG", 1, Decimal("9.50")),
    ]
    assert Product.objects.get(sku="CAP").stock == 1
    assert OrderStatusChange.objects.get().actor == f"partner:{PARTNER}"


def test_partner_orders_and_checkouts_share_the_numbers(
    api: APIClient, storefront: Storefront, carted_guest: Shopper
) -> None:
    place(storefront, ("MUG", 1))

    answer = guest_checkout(api, carted_guest)

    assert answer.json()["orderNumber"] == "ACME-000002"


def test_lines_that_cannot_be_sold_are_named_and_nothing_is_ordered(
    storefront: Storefront, products: dict[str, Product]
) -> None:
    before = tables_snapshot()

    error = refusal(
        lambda: place(storefront, ("NOPE", 1), ("OLD", 1), ("CAP", 4), ("TEE", 6), ("MUG", 1))
    )

    assert error.code.number == 5003
    assert field_errors(error) == [
        ("lines.NOPE", "sku_unknown"),
        ("lines.OLD", "sku_inactive"),
        ("lines.CAP", "quantity_above_stock"),
        ("lines.TEE", "quantity_above_maximum"),
    ]
    assert tables_snapshot() == before


@pytest.mark.parametrize(
    ("lines", "errors"),
    [
        pytest.param([], [("lines", "order_lines_invalid")], id="none"),
        pytest.param(
            [("MUG", 1), ("MUG", 2)], [("lines[1].sku", "order_lines_invalid")], id="twice"
        ),
        pytest.param([("MUG", 0)], [("lines[0].quantity", "order_lines_invalid")], id="zero"),
        pytest.param([("MUG", -3)], [("lines[0].quantity", "order_lines_invalid")], id="negative"),
    ],
)
def test_an_invalid_list_of_lines_is_400(
    storefront: Storefront,
    products: dict[str, Product],
    lines: list[tuple[str, int]],
    errors: list[tuple[str, str]],
) -> None:
    before = tables_snapshot()

    error = refusal(lambda: place(storefront, *lines))

    assert (error.code.number, error.code.status) == (5008, 400)
    assert field_errors(error) == errors
    assert tables_snapshot() == before


@override_settings(CART_MAX_LINES=2)
def test_more_lines_than_a_cart_may_hold_is_400(
    storefront: Storefront, products: dict[str, Product]
) -> None:
    error = refusal(lambda: place(storefront, ("MUG", 1), ("CAP", 1), ("TEE", 1)))

    assert field_errors(error) == [("lines", "order_lines_invalid")]
    assert not Order.objects.exists()


def test_an_order_for_someone_without_an_e_mail_is_refused(
    storefront: Storefront, products: dict[str, Product]
) -> None:
    error = refusal(lambda: place(storefront, ("MUG", 1), email=""))

    assert (error.code.slug, field_errors(error)) == (
        "email_required",
        [("email", "email_required")],
    )
    assert not Order.objects.exists()


def test_another_total_than_expected_is_refused_with_the_new_one(
    storefront: Storefront, products: dict[str, Product]
) -> None:
    error = refusal(lambda: place(storefront, ("MUG", 2), expected_total=Decimal("18.00")))

    assert error.code.number == 5004
    assert error.extensions == {
        "currency": "EUR",
        "expectedTotal": "18.00",
        "subtotal": "19.00",
        "total": "19.00",
    }
    assert not Order.objects.exists()


def test_skus_of_another_tenant_are_unknown(
    storefront: Storefront, other_storefront: Storefront, products: dict[str, Product]
) -> None:
    error = refusal(lambda: place(other_storefront, ("MUG", 1)))

    assert field_errors(error) == [("lines.MUG", "sku_unknown")]
    assert Product.objects.get(sku="MUG", tenant=storefront.tenant).stock is None
