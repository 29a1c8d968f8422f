"""The "orders" rows of SECURITY.md, and its "carts" rows applied to orders: another's order by
number or guess is a 404; price, total, status, customer or partner in the body are refused;
huge bodies are 413; another tenant's shopper sees nothing. The races (20 checkouts of the last
units, one key 20 times) are in test_checkout_concurrency.py."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog.models import Product
from orders.services import LineRequest, order_place_from_lines
from tests.conftest import (
    Shopper,
    Storefront,
    anonymous_shopper,
    assert_problem,
    tables_snapshot,
    validation_problem,
)
from tests.identity.provider_fixtures import CustomerSession
from tests.orders.order_fixtures import (
    GUEST_EMAIL,
    ORDER_NOT_FOUND,
    ORDERS_URL,
    checkout,
    guest_checkout,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "injected",
    [
        {"total": "0.01"},
        {"subtotal": "0.01"},
        {"unitPrice": "0.01"},
        {"lines": [{"sku": "CAP", "quantity": 1, "unitPrice": "0.01"}]},
        {"status": "fulfilled"},
        {"paymentStatus": "captured"},
        {"customerId": "00000000-0000-0000-0000-000000000001"},
        {"partnerId": "pt_evil"},
        {"tenant": 2},
        {"orderNumber": "ACME-999999"},
        {"currency": "XXX"},
    ],
    ids=lambda injected: next(iter(injected)),
)
def test_mass_assignment_is_refused_and_changes_nothing(
    api: APIClient, carted_guest: Shopper, injected: dict[str, Any]
) -> None:
    before = tables_snapshot()

    answer = checkout(api, carted_guest, {"email": GUEST_EMAIL, **injected})

    [name] = injected
    assert_problem(
        answer, validation_problem((name, "unknown_field", "Not a field of a checkout."))
    )
    assert tables_snapshot() == before


def test_a_customer_cannot_order_for_another_customer(
    api: APIClient, carted_customer: CustomerSession, customer_shopper: Any
) -> None:
    # given Bob, with nothing in his cart
    bob = customer_shopper("auth0|bob", email="bob@example.com")
    before = tables_snapshot()

    # when Bob checks out naming Ada as the customer
    answer = checkout(api, bob, {"customerId": carted_customer.customer_id})

    # then it is refused, and Ada's cart is untouched
    assert answer.status_code == 400
    assert tables_snapshot() == before


def test_a_huge_body_is_413_and_changes_nothing(
    api: APIClient, carted_guest: Shopper, settings: Any
) -> None:
    before = tables_snapshot()

    answer = checkout(
        api, carted_guest, {"email": GUEST_EMAIL, "pad": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
    )

    assert answer.status_code == 413
    assert answer.json()["code"] == 1013
    assert tables_snapshot() == before


def test_a_partners_order_is_no_shoppers(
    api: APIClient, storefront: Storefront, carted_guest: Shopper, products: dict[str, Product]
) -> None:
    # given a partner's order ACME-000001 and a guest's ACME-000002
    order_place_from_lines(
        tenant_id=storefront.tenant.pk,
        lines=[LineRequest(sku="MUG", quantity=1)],
        email="buyer@partner.example",
        partner_id="pt_1",
    )
    assert guest_checkout(api, carted_guest).json()["orderNumber"] == "ACME-000002"
    stranger = anonymous_shopper(api, storefront.key)
    before = tables_snapshot()

    # then no shopper reads the partner's order, by number or in a list
    for shopper in (carted_guest, stranger):
        assert_problem(api.get(f"{ORDERS_URL}/ACME-000001", **shopper.headers()), ORDER_NOT_FOUND)
    assert [
        o["orderNumber"] for o in api.get(ORDERS_URL, **carted_guest.headers()).json()["results"]
    ] == ["ACME-000002"]
    assert tables_snapshot() == before


@pytest.mark.parametrize(
    "number", ["ACME-000001'--", "../ACME-000001", "%00", "ACME-000001%20OR%201=1", "x" * 300]
)
def test_odd_order_numbers_are_404(api: APIClient, carted_guest: Shopper, number: str) -> None:
    assert guest_checkout(api, carted_guest).status_code == 201

    answer = api.get(f"{ORDERS_URL}/{number}", **carted_guest.headers())

    assert answer.status_code == 404
