"""The cart endpoints for customers signed in at an identity provider: the same contract as for
anonymous shoppers with ``isAnonymous: false``, one open cart per customer created on the first
change, and no cart ever visible to another owner."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from carts.models import Cart, CartLine
from tests.carts.migration_fixtures import (
    CART_URL,
    EMPTY_CUSTOMER_CART,
    LINES_URL,
    cart_get,
    cart_line,
    customer_cart,
    customer_cart_body,
    line_add,
)
from tests.conftest import Storefront, anonymous_shopper
from tests.identity.provider_fixtures import CustomerShopper


def test_a_new_customer_reads_an_empty_cart_and_nothing_is_written(
    api: APIClient, customer_shopper: CustomerShopper, products: dict[str, Any]
) -> None:
    # given a customer who has just signed in
    session = customer_shopper("alice")

    # when they read their cart
    answer = cart_get(api, session)

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
    first = line_add(api, session, {"sku": "MUG", "quantity": 2})
    second = line_add(api, session, {"sku": "TEE", "quantity": 1})

    # then exactly one open cart exists, owned by the customer alone, with both lines
    assert first.status_code == 200, first.content
    assert second.status_code == 200, second.content
    cart = Cart.objects.get()
    assert str(cart.customer_id) == session.customer_id
    assert cart.anonymous_id is None
    assert cart.status == "open"
    assert cart.tenant.slug == "acme"
    assert second.json() == customer_cart_body(
        cart, [cart_line("MUG", 2, "9.50"), cart_line("TEE", 1, "19.90")]
    )
    assert cart_get(api, session).json() == second.json()


def test_adding_the_same_sku_again_adds_to_its_line(
    api: APIClient, customer_shopper: CustomerShopper, products: dict[str, Any]
) -> None:
    # given a customer's cart with 2 mugs
    session = customer_shopper("alice")
    line_add(api, session, {"sku": "MUG", "quantity": 2})

    # when 3 more are added
    answer = line_add(api, session, {"sku": "MUG", "quantity": 3})

    # then the one line holds 5
    assert answer.status_code == 200, answer.content
    assert answer.json() == customer_cart_body(
        customer_cart(session.customer_id), [cart_line("MUG", 5, "9.50")]
    )
    assert CartLine.objects.count() == 1


def test_patch_sets_the_quantity_of_a_line(
    api: APIClient, customer_shopper: CustomerShopper, products: dict[str, Any]
) -> None:
    # given a customer's cart with a mug
    session = customer_shopper("alice")
    line_add(api, session, {"sku": "MUG", "quantity": 1})

    # when the line is set to 4
    answer = api.patch(LINES_URL + "/MUG", {"quantity": 4}, format="json", **session.headers())

    # then it holds 4
    assert answer.status_code == 200, answer.content
    assert answer.json() == customer_cart_body(
        customer_cart(session.customer_id), [cart_line("MUG", 4, "9.50")]
    )


def test_delete_removes_a_line(
    api: APIClient, customer_shopper: CustomerShopper, products: dict[str, Any]
) -> None:
    # given a customer's cart with two lines
    session = customer_shopper("alice")
    line_add(api, session, {"sku": "MUG", "quantity": 1})
    line_add(api, session, {"sku": "TEE", "quantity": 2})

    # when the mug line is deleted
    answer = api.delete(LINES_URL + "/MUG", **session.headers())

    # then only the tee is left
    assert answer.status_code == 200, answer.content
    assert answer.json() == customer_cart_body(
        customer_cart(session.customer_id), [cart_line("TEE", 2, "19.90")]
    )


def test_delete_of_a_line_the_cart_lacks_is_404_and_changes_nothing(
    api: APIClient, customer_shopper: CustomerShopper, products: dict[str, Any]
) -> None:
    # given a customer's cart with a mug
    session = customer_shopper("alice")
    before = line_add(api, session, {"sku": "MUG", "quantity": 1}).json()

    # when a line it does not hold is deleted
    answer = api.delete(LINES_URL + "/TEE", **session.headers())

    # then 404 cart line not found, and the cart is as before
    assert answer.status_code == 404
    assert answer.json()["code"] == 4006
    assert cart_get(api, session).json() == before


def test_clear_empties_the_cart_and_keeps_it(
    api: APIClient, customer_shopper: CustomerShopper, products: dict[str, Any]
) -> None:
    # given a customer's cart with two lines
    session = customer_shopper("alice")
    line_add(api, session, {"sku": "MUG", "quantity": 1})
    line_add(api, session, {"sku": "TEE", "quantity": 2})
    cart = customer_cart(session.customer_id)

    # when the cart is cleared
    answer = api.delete(CART_URL, **session.headers())

    # then the same cart is empty
    assert answer.status_code == 200, answer.content
    assert answer.json() == customer_cart_body(cart, [])
    assert Cart.objects.get().pk == cart.pk
    assert CartLine.objects.count() == 0


def test_bad_input_has_the_same_contract_for_customers(
    api: APIClient, customer_shopper: CustomerShopper, products: dict[str, Any]
) -> None:
    # given a customer's cart with a mug
    session = customer_shopper("alice")
    before = line_add(api, session, {"sku": "MUG", "quantity": 1}).json()

    # when an unknown SKU is added
    answer = line_add(api, session, {"sku": "NOPE", "quantity": 1})

    # then 400 naming the field, and nothing changed
    assert answer.status_code == 400
    assert answer.json()["code"] == 4001
    assert [error["field"] for error in answer.json()["errors"]] == ["sku"]
    assert cart_get(api, session).json() == before


def test_a_customer_signing_in_again_finds_the_same_cart(
    api: APIClient, customer_shopper: CustomerShopper, products: dict[str, Any]
) -> None:
    # given a customer's cart
    first = customer_shopper("alice")
    before = line_add(api, first, {"sku": "MUG", "quantity": 2}).json()

    # when the customer signs in again with a new token
    again = customer_shopper("alice")

    # then the new session sees the same cart, and there is still only one
    assert cart_get(api, again).json() == before
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
    anonymous_before = line_add(api, anonymous, {"sku": "TEE", "quantity": 1}).json()
    customer_before = line_add(api, customer, {"sku": "MUG", "quantity": 3}).json()

    # then each reads only its own cart
    assert cart_get(api, anonymous).json() == anonymous_before
    assert anonymous_before["isAnonymous"] is True
    assert [item["sku"] for item in anonymous_before["lines"]] == ["TEE"]
    assert cart_get(api, customer).json() == customer_before
    assert [item["sku"] for item in customer_before["lines"]] == ["MUG"]
    assert anonymous_before["id"] != customer_before["id"]

    # and a change of one leaves the other as it was
    assert api.delete(CART_URL, **customer.headers()).status_code == 200
    assert api.delete(LINES_URL + "/MUG", **anonymous.headers()).status_code == 404
    assert cart_get(api, anonymous).json() == anonymous_before
    assert sorted(
        (str(cart.anonymous_id or ""), str(cart.customer_id or "")) for cart in Cart.objects.all()
    ) == sorted([(anonymous.anonymous_id, ""), ("", customer.customer_id)])


def test_two_customers_never_see_each_others_carts(
    api: APIClient, customer_shopper: CustomerShopper, products: dict[str, Any]
) -> None:
    # given two customers, one with a cart
    alice = customer_shopper("alice")
    bob = customer_shopper("bob")
    alice_before = line_add(api, alice, {"sku": "MUG", "quantity": 2}).json()

    # when the other reads, deletes a line of, and clears "the" cart
    bob_read = cart_get(api, bob)
    bob_delete = api.delete(LINES_URL + "/MUG", **bob.headers())
    bob_clear = api.delete(CART_URL, **bob.headers())

    # then they see an empty cart of their own and the first customer's is untouched
    assert bob_read.json() == EMPTY_CUSTOMER_CART
    assert bob_delete.status_code == 404
    assert bob_delete.json()["code"] == 4006
    assert bob_clear.json() == EMPTY_CUSTOMER_CART
    assert cart_get(api, alice).json() == alice_before
    assert Cart.objects.filter(customer_id=bob.customer_id).count() == 0

    # when the other adds the same product
    bob_add = line_add(api, bob, {"sku": "MUG", "quantity": 1})

    # then each has one cart of their own
    assert bob_add.json()["id"] != alice_before["id"]
    assert cart_get(api, alice).json() == alice_before
    assert Cart.objects.filter(customer_id=alice.customer_id).count() == 1
    assert Cart.objects.filter(customer_id=bob.customer_id).count() == 1
