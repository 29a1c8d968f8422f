"""The admin's cart pages: found by a customer's e-mail or an id, showing prices, line totals
and the subtotal, each line labelled by its product."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from carts.models import Cart, CartLine
from identity.models import Customer
from tests.conftest import Storefront

CHANGELIST_URL = reverse("admin:carts_cart_changelist")


@pytest.fixture
def ada_cart(customer: Customer, storefront: Storefront, products: dict[str, Any]) -> Cart:
    """Ada's open cart: 2 TEE at 19.90 and 3 MUG at 9.50."""
    cart = Cart.objects.create(tenant=storefront.tenant, customer_id=customer.public_id)
    CartLine.objects.create(cart=cart, product=products["tee"], quantity=2)
    CartLine.objects.create(cart=cart, product=products["mug"], quantity=3)
    return cart


@pytest.fixture
def anonymous_cart(storefront: Storefront, products: dict[str, Any]) -> Cart:
    cart = Cart.objects.create(tenant=storefront.tenant, anonymous_id=uuid.uuid4())
    CartLine.objects.create(cart=cart, product=products["cap"], quantity=1)
    return cart


def found(operator: Client, term: str) -> list[Cart]:
    answer = operator.get(CHANGELIST_URL, {"q": term})
    assert answer.status_code == 200
    return list(answer.context["cl"].result_list)


@pytest.mark.parametrize("term", ["ada@example.com", "ADA@example", "ada"])
def test_carts_are_found_by_the_customers_email(
    operator: Client, ada_cart: Cart, anonymous_cart: Cart, term: str
) -> None:
    assert found(operator, term) == [ada_cart]


def test_carts_are_found_by_customer_cart_or_anonymous_id(
    operator: Client, ada_cart: Cart, anonymous_cart: Cart
) -> None:
    assert found(operator, str(ada_cart.customer_id)) == [ada_cart]
    assert found(operator, str(ada_cart.public_id)) == [ada_cart]
    assert found(operator, f" {anonymous_cart.anonymous_id} ") == [anonymous_cart]
    assert found(operator, str(uuid.uuid4())) == []
    assert found(operator, "nobody@example.com") == []


def test_the_cart_page_shows_prices_line_totals_and_the_subtotal(
    operator: Client, ada_cart: Cart
) -> None:
    answer = operator.get(reverse("admin:carts_cart_change", args=[ada_cart.pk]))

    assert answer.status_code == 200
    page = answer.content.decode()
    inline = answer.context["inline_admin_formsets"][0]
    rows = [
        {
            field.field["name"]: str(field.contents())
            for fieldset in line_form
            for line in fieldset
            for field in line
            if field.field["name"] in ("sku", "name", "quantity", "unit_price", "line_total")
        }
        for line_form in inline
    ]
    assert rows == [
        {
            "sku": "TEE",
            "name": rows[0]["name"],
            "quantity": "2",
            "unit_price": "19.90",
            "line_total": "39.80",
        },
        {
            "sku": "MUG",
            "name": rows[1]["name"],
            "quantity": "3",
            "unit_price": "9.50",
            "line_total": "28.50",
        },
    ]
    # each line is labelled by its product and quantity
    assert [str(form.original) for form in inline] == ["TEE, quantity 2", "MUG, quantity 3"]
    fields = {
        field.field["name"]: str(field.contents())
        for fieldset in answer.context["adminform"]
        for line in fieldset
        for field in line
    }
    assert fields["subtotal"] == "68.30 EUR"
    assert fields["item_count"] == "5"
    assert "Line total" in page


def test_the_cart_page_links_the_customer(
    operator: Client, ada_cart: Cart, customer: Customer
) -> None:
    answer = operator.get(reverse("admin:carts_cart_change", args=[ada_cart.pk]))

    link = reverse("admin:identity_customer_change", args=[customer.pk])
    assert f'<a href="{link}">ada@example.com</a>' in answer.content.decode()
