"""The cart endpoints for customers signed in at an identity provider: the same contract as for
anonymous shoppers with ``isAnonymous: false``, one open cart per customer created on the first
change, and no cart ever visible to another owner."""

# ruff: noqa: F811  (pytest fixtures are imported by name and requested as arguments)

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework.response import Response
from rest_framework.test import APIClient

from carts.models import Cart, CartLine
from tests.conftest import Shopper, Storefront, anonymous_shopper
from tests.identity.provider_fixtures import (  # noqa: F401  (fixtures, used by name)
    CART_URL,
    CustomerSession,
    CustomerShopper,
    customer_shopper,
    customer_token,
    provider_keys,
    static_provider,
)

LINES_URL = CART_URL + "/lines"

Session = CustomerSession | Shopper


def cart_read(api: APIClient, session: Session) -> Response:
    return api.get(CART_URL, **session.headers())


def line_add(api: APIClient, session: Session, sku: str, quantity: int) -> Response:
    return api.post(
        LINES_URL, {"sku": sku, "quantity": quantity}, format="json", **session.headers()
    )


def line(sku: str, quantity: int, unit_price: str) -> dict[str, Any]:
    return {
        "sku": sku,
        "name": f"Product {sku}",
        "quantity": quantity,
        "unitPrice": unit_price,
        "lineTotal": f"{Decimal(unit_price) * quantity:.2f}",
    }


def customer_cart(session: CustomerSession) -> Cart:
    return Cart.objects.get(customer_id=session.customer_id, status="open")


def cart_body(cart: Cart, lines: list[dict[str, Any]]) -> dict[str, Any]:
    cart.refresh_from_db()
    return {
        "id": str(cart.public_id),
        "isAnonymous": False,
        "currency": "EUR",
        "lines": lines,
        "itemCount": sum(item["quantity"] for item in lines),
        "subtotal": f"{sum(Decimal(item['lineTotal']) for item in lines):.2f}",
        "updatedAt": cart.updated_at.isoformat().replace("+00:00", "Z"),
    }


EMPTY_CUSTOMER_CART = {
    "id": None,
    "isAnonymous": False,
    "currency": "EUR",
    "lines": [],
    "itemCount": 0,
    "subtotal": "0.00",
    "updatedAt": None,
}


def test_a_new_customer_reads_an_empty_cart_and_nothing_is_written(
    api: APIClient, customer_shopper: CustomerShopper, products: dict[str, Any]
) -> None:
    # given a customer who has just signed in
    session = customer_shopper("alice")

    # when they read their cart
    answer = cart_read(api, session)

    # then it is an empty customer cart, and no cart row exists yet
    assert answer.status_code == 200, answer.content
    assert answer.json() == EMPTY_CUSTOMER_CART
    assert Cart.objects.count() == 0


def test_the_first_add_creates_one_customer_cart(
    api: APIClient, customer_shopper: CustomerShopper, products: dict[str, Any]
) -> None:
    # given a signed-in customer without a cart
    session = customer_shopper("alice")

    # when they add a product, then another
    first = line_add(api, session, "MUG", 2)
    second = line_add(api, session, "TEE", 1)

    # then exactly one open cart exists, owned by the customer alone, with both lines
    assert first.status_code == 200, first.content
    assert second.status_code == 200, second.content
    cart = Cart.objects.get()
    assert str(cart.customer_id) == session.customer_id
    assert cart.anonymous_id is None
    assert cart.status == "open"
    assert cart.tenant.slug == "acme"
    assert second.json() == cart_body(cart, [line("MUG", 2, "9.50"), line("TEE", 1, "19.90")])
    assert cart_read(api, session).json() == second.json()


def test_adding_the_same_sku_again_adds_to_its_line(
    api: APIClient, customer_shopper: CustomerShopper, products: dict[str, Any]
) -> None:
    # given a customer's cart with 2 mugs
    session = customer_shopper("alice")
    line_add(api, session, "MUG", 2)

    # when 3 more are added
    answer = line_add(api, session, "MUG", 3)

    # then the one line holds 5
    assert answer.status_code == 200, answer.content
    assert answer.json() == cart_body(customer_cart(session), [line("MUG", 5, "9.50")])
    assert CartLine.objects.count() == 1


def test_patch_sets_the_quantity_of_a_line(
    api: APIClient, customer_shopper: CustomerShopper, products: dict[str, Any]
) -> None:
    # given a customer's cart with a mug
    session = customer_shopper("alice")
    line_add(api, session, "MUG", 1)

    # when the line is set to 4
    answer = api.patch(LINES_URL + "/MUG", {"quantity": 4}, format="json", **session.headers())

    # then it holds 4
    assert answer.status_code == 200, answer.content
    assert answer.json() == cart_body(customer_cart(session), [line("MUG", 4, "9.50")])


def test_delete_removes_a_line(
    api: APIClient, customer_shopper: CustomerShopper, products: dict[str, Any]
) -> None:
    # given a customer's cart with two lines
    session = customer_shopper("alice")
    line_add(api, session, "MUG", 1)
    line_add(api, session, "TEE", 2)

    # when the mug line is deleted
    answer = api.delete(LINES_URL + "/MUG", **session.headers())

    # then only the tee is left
    assert answer.status_code == 200, answer.content
    assert answer.json() == cart_body(customer_cart(session), [line("TEE", 2, "19.90")])


def test_delete_of_a_line_the_cart_lacks_is_404_and_changes_nothing(
    api: APIClient, customer_shopper: CustomerShopper, products: dict[str, Any]
) -> None:
    # given a customer's cart with a mug
    session = customer_shopper("alice")
    before = line_add(api, session, "MUG", 1).json()

    # when a line it does not hold is deleted
    answer = api.delete(LINES_URL + "/TEE", **session.headers())

    # then 404 cart line not found, and the cart is as before
    assert answer.status_code == 404
    assert answer.json()["code"] == 4006
    assert cart_read(api, session).json() == before


def test_clear_empties_the_cart_and_keeps_it(
    api: APIClient, customer_shopper: CustomerShopper, products: dict[str, Any]
) -> None:
    # given a customer's cart with two lines
    session = customer_shopper("alice")
    line_add(api, session, "MUG", 1)
    line_add(api, session, "TEE", 2)
    cart = customer_cart(session)

    # when the cart is cleared
    answer = api.delete(CART_URL, **session.headers())

    # then the same cart is empty
    assert answer.status_code == 200, answer.content
    assert answer.json() == cart_body(cart, [])
    assert Cart.objects.get().pk == cart.pk
    assert CartLine.objects.count() == 0


def test_bad_input_has_the_same_contract_for_customers(
    api: APIClient, customer_shopper: CustomerShopper, products: dict[str, Any]
) -> None:
    # given a customer's cart with a mug
    session = customer_shopper("alice")
    before = line_add(api, session, "MUG", 1).json()

    # when an unknown SKU is added
    answer = line_add(api, session, "NOPE", 1)

    # then 400 naming the field, and nothing changed
    assert answer.status_code == 400
    assert answer.json()["code"] == 4001
    assert [error["field"] for error in answer.json()["errors"]] == ["sku"]
    assert cart_read(api, session).json() == before


def test_a_customer_signing_in_again_finds_the_same_cart(
    api: APIClient, customer_shopper: CustomerShopper, products: dict[str, Any]
) -> None:
    # given a customer's cart
    first = customer_shopper("alice")
    before = line_add(api, first, "MUG", 2).json()

    # when the customer signs in again with a new token
    again = customer_shopper("alice")

    # then the new session sees the same cart, and there is still only one
    assert cart_read(api, again).json() == before
    assert Cart.objects.filter(customer_id=first.customer_id).count() == 1


def test_customer_and_anonymous_shopper_never_see_each_others_cart(
    api: APIClient,
    storefront: Storefront,
    customer_shopper: CustomerShopper,
    products: dict[str, Any],
) -> None:
    # given an anonymous shopper's cart and a customer's cart
    anonymous = anonymous_shopper(api, storefront.key)
    customer = customer_shopper("alice")
    anonymous_before = line_add(api, anonymous, "TEE", 1).json()
    customer_before = line_add(api, customer, "MUG", 3).json()

    # then each reads only its own cart
    assert cart_read(api, anonymous).json() == anonymous_before
    assert anonymous_before["isAnonymous"] is True
    assert [item["sku"] for item in anonymous_before["lines"]] == ["TEE"]
    assert cart_read(api, customer).json() == customer_before
    assert [item["sku"] for item in customer_before["lines"]] == ["MUG"]
    assert anonymous_before["id"] != customer_before["id"]

    # and a change of one leaves the other as it was
    assert api.delete(CART_URL, **customer.headers()).status_code == 200
    assert api.delete(LINES_URL + "/MUG", **anonymous.headers()).status_code == 404
    assert cart_read(api, anonymous).json() == anonymous_before
    assert sorted(
        (str(cart.anonymous_id or ""), str(cart.customer_id or "")) for cart in Cart.objects.all()
    ) == sorted([(anonymous.anonymous_id, ""), ("", customer.customer_id)])


def test_two_customers_never_see_each_others_carts(
    api: APIClient, customer_shopper: CustomerShopper, products: dict[str, Any]
) -> None:
    # given two customers, one with a cart
    alice = customer_shopper("alice")
    bob = customer_shopper("bob")
    alice_before = line_add(api, alice, "MUG", 2).json()

    # when the other reads, deletes a line of, and clears "the" cart
    bob_read = cart_read(api, bob)
    bob_delete = api.delete(LINES_URL + "/MUG", **bob.headers())
    bob_clear = api.delete(CART_URL, **bob.headers())

    # then they see an empty cart of their own and the first customer's is untouched
    assert bob_read.json() == EMPTY_CUSTOMER_CART
    assert bob_delete.status_code == 404
    assert bob_delete.json()["code"] == 4006
    assert bob_clear.json() == EMPTY_CUSTOMER_CART
    assert cart_read(api, alice).json() == alice_before
    assert Cart.objects.filter(customer_id=bob.customer_id).count() == 0

    # when the other adds the same product
    bob_add = line_add(api, bob, "MUG", 1)

    # then each has one cart of their own
    assert bob_add.json()["id"] != alice_before["id"]
    assert cart_read(api, alice).json() == alice_before
    assert Cart.objects.filter(customer_id=alice.customer_id).count() == 1
    assert Cart.objects.filter(customer_id=bob.customer_id).count() == 1
