"""The cart endpoints for an anonymous shopper: the whole cart answer, each change, bad input.

Every failure is asserted as the whole problem document, and against a snapshot of the cart
tables taken before the request: a failed request changes nothing.

Here: reading; adding; setting and removing; authentication (the details are tested with the
tokens). The other parts of the suite: test_cart_bad_input.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from carts.models import Cart, CartLine
from catalog.models import Product
from tests.carts.cart_api_common import (
    line_delete,
    line_set,
    open_cart,
)
from tests.carts.migration_fixtures import (
    CART_URL,
    EMPTY_ANONYMOUS_CART,
    LINES_URL,
    anonymous_cart_body,
    cart_get,
    cart_line,
    line_add,
)
from tests.conftest import (
    Shopper,
    Storefront,
    assert_problem,
    iso,
    problem,
    tables_snapshot,
)

pytestmark = pytest.mark.django_db


# --- reading ------------------------------------------------------------------------------------


def test_get_without_a_cart_answers_an_empty_cart_and_writes_nothing(
    api: APIClient, shopper: Shopper, products: dict[str, Product]
) -> None:
    # given a shopper who never added anything
    carts_before = Cart.objects.count()

    # when they read their cart
    answer = cart_get(api, shopper)

    # then it is an empty cart without an id, and no cart was created
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/json"
    assert answer.json() == EMPTY_ANONYMOUS_CART
    assert Cart.objects.count() == carts_before == 0


def test_get_answers_the_whole_cart(api: APIClient, filled: Shopper) -> None:
    # given a cart with two lines
    cart = open_cart(filled)

    # when it is read
    answer = cart_get(api, filled)

    # then the whole cart is answered, money as decimal strings
    assert answer.status_code == 200
    assert answer.json() == {
        "id": str(cart.public_id),
        "isAnonymous": True,
        "currency": "EUR",
        "lines": [
            {
                "sku": "MUG",
                "name": "Product MUG",
                "quantity": 2,
                "unitPrice": "9.50",
                "lineTotal": "19.00",
            },
            {
                "sku": "CAP",
                "name": "Product CAP",
                "quantity": 1,
                "unitPrice": "24.00",
                "lineTotal": "24.00",
            },
        ],
        "itemCount": 3,
        "subtotal": "43.00",
        "updatedAt": iso(cart.updated_at),
    }


def test_prices_are_the_current_ones_with_exact_decimal_arithmetic(
    api: APIClient, shopper: Shopper, products: dict[str, Product]
) -> None:
    # given a price whose binary floating-point product is inexact (0.1 * 3)
    Product.objects.filter(sku="MUG").update(unit_price=Decimal("0.10"))
    line_add(api, shopper, {"sku": "MUG", "quantity": 3})

    # when the price changes after the add
    Product.objects.filter(sku="MUG").update(unit_price=Decimal("1234567.85"))
    answer = cart_get(api, shopper)

    # then the answer uses the current price, to the cent, as strings
    body = answer.json()
    assert body["lines"] == [cart_line("MUG", 3, "1234567.85")]
    assert body["lines"][0]["lineTotal"] == "3703703.55"
    assert body["subtotal"] == "3703703.55"


# --- adding -------------------------------------------------------------------------------------


def test_first_add_creates_the_cart_with_one_line(
    api: APIClient, shopper: Shopper, products: dict[str, Product]
) -> None:
    # when an anonymous shopper adds a product for the first time
    answer = line_add(api, shopper, {"sku": "MUG", "quantity": 2})

    # then their open cart exists, owned by their anonymous id in their tenant only
    assert answer.status_code == 200, answer.content
    cart = open_cart(shopper)
    assert answer.json() == anonymous_cart_body(cart, [cart_line("MUG", 2, "9.50")])
    assert cart.customer_id is None
    assert cart.tenant_id == products["mug"].tenant_id
    assert list(CartLine.objects.values_list("cart_id", "product__sku", "quantity")) == [
        (cart.pk, "MUG", 2)
    ]


def test_adding_a_sku_already_in_the_cart_adds_to_its_line(api: APIClient, filled: Shopper) -> None:
    # given 2 MUG in the cart
    cart = open_cart(filled)
    line_ids = set(CartLine.objects.values_list("pk", flat=True))

    # when 3 more are added
    answer = line_add(api, filled, {"sku": "MUG", "quantity": 3})

    # then the same line holds 5, in the same cart
    assert answer.status_code == 200, answer.content
    cart.refresh_from_db()
    assert answer.json() == anonymous_cart_body(
        cart, [cart_line("MUG", 5, "9.50"), cart_line("CAP", 1, "24.00")]
    )
    assert set(CartLine.objects.values_list("pk", flat=True)) == line_ids
    assert Cart.objects.count() == 1


def test_a_change_moves_updated_at_forward(api: APIClient, filled: Shopper) -> None:
    # given a cart
    before = open_cart(filled).updated_at

    # when a line changes
    answer = line_add(api, filled, {"sku": "MUG", "quantity": 1})

    # then the cart's updatedAt is later
    after = open_cart(filled).updated_at
    assert after > before
    assert answer.json()["updatedAt"] == iso(after)


def test_the_whole_per_order_maximum_and_the_whole_stock_can_be_added(
    api: APIClient, shopper: Shopper, products: dict[str, Product]
) -> None:
    # when exactly the stock of CAP (3) and the per-order maximum of TEE (5) are added
    assert line_add(api, shopper, {"sku": "CAP", "quantity": 3}).status_code == 200
    answer = line_add(api, shopper, {"sku": "TEE", "quantity": 5})

    # then both fit
    assert answer.status_code == 200, answer.content
    assert answer.json()["lines"] == [
        cart_line("CAP", 3, "24.00"),
        cart_line("TEE", 5, "19.90"),
    ]


# --- setting and removing -----------------------------------------------------------------------


def test_patch_sets_the_quantity_of_a_line(api: APIClient, filled: Shopper) -> None:
    # when the MUG line is set to 7
    answer = line_set(api, filled, "MUG", {"quantity": 7})

    # then it holds 7, not 9
    assert answer.status_code == 200, answer.content
    assert answer.json() == anonymous_cart_body(
        open_cart(filled),
        [cart_line("MUG", 7, "9.50"), cart_line("CAP", 1, "24.00")],
    )


def test_patch_to_zero_removes_the_line(api: APIClient, filled: Shopper) -> None:
    # when the MUG line is set to 0
    answer = line_set(api, filled, "MUG", {"quantity": 0})

    # then only the CAP line is left
    assert answer.status_code == 200, answer.content
    assert answer.json() == anonymous_cart_body(open_cart(filled), [cart_line("CAP", 1, "24.00")])
    assert list(CartLine.objects.values_list("product__sku", flat=True)) == ["CAP"]


def test_patch_of_a_sku_not_in_the_cart_is_404_and_changes_nothing(
    api: APIClient, filled: Shopper
) -> None:
    # given a cart without TEE
    before = tables_snapshot()

    # when TEE is set, to a quantity or to 0
    answers = [
        line_set(api, filled, "TEE", {"quantity": 2}),
        line_set(api, filled, "TEE", {"quantity": 0}),
    ]

    # then both are 404 with the line-not-found code, and nothing changed
    for answer in answers:
        assert_problem(
            answer,
            problem(
                "cart_line_not_found",
                "Cart line not found",
                404,
                "The cart has no line for SKU 'TEE'.",
                4006,
            ),
        )
    assert tables_snapshot() == before


def test_delete_removes_the_line(api: APIClient, filled: Shopper) -> None:
    # when the CAP line is deleted
    answer = line_delete(api, filled, "CAP")

    # then the cart holds the MUG line only
    assert answer.status_code == 200, answer.content
    assert answer.json() == anonymous_cart_body(open_cart(filled), [cart_line("MUG", 2, "9.50")])


@pytest.mark.parametrize("sku", ["TEE", "NOPE", "mug"])
def test_delete_of_a_line_the_cart_does_not_hold_is_404_4006(
    api: APIClient, filled: Shopper, sku: str
) -> None:
    # given a cart with MUG and CAP (SKUs are case-sensitive)
    before = tables_snapshot()

    # when a line it does not hold is deleted
    answer = line_delete(api, filled, sku)

    # then 404 with the line-not-found code; nothing changed
    assert_problem(
        answer,
        problem(
            "cart_line_not_found",
            "Cart line not found",
            404,
            f"The cart has no line for SKU {sku!r}.",
            4006,
        ),
    )
    assert tables_snapshot() == before


def test_delete_of_a_line_without_any_cart_is_404_and_creates_no_cart(
    api: APIClient, shopper: Shopper, products: dict[str, Product]
) -> None:
    # when a shopper without a cart deletes a line
    answer = line_delete(api, shopper, "MUG")

    # then 404, and no cart was created
    assert answer.status_code == 404
    assert answer.json()["code"] == 4006
    assert Cart.objects.count() == 0


def test_delete_cart_empties_it_and_keeps_its_id(api: APIClient, filled: Shopper) -> None:
    # given a cart with two lines
    cart = open_cart(filled)

    # when the cart is deleted
    answer = api.delete(CART_URL, **filled.headers())

    # then it is empty, with the same id, and its lines are gone
    assert answer.status_code == 200, answer.content
    cart.refresh_from_db()
    assert answer.json() == anonymous_cart_body(cart, [])
    assert CartLine.objects.count() == 0
    assert Cart.objects.count() == 1
    # and the next add fills the same cart
    assert line_add(api, filled, {"sku": "TEE", "quantity": 1}).json()["id"] == str(cart.public_id)


def test_delete_cart_without_a_cart_answers_an_empty_cart_and_writes_nothing(
    api: APIClient, shopper: Shopper, products: dict[str, Product]
) -> None:
    # when a shopper without a cart empties it
    answer = api.delete(CART_URL, **shopper.headers())

    # then the empty cart, and still no cart
    assert answer.status_code == 200
    assert answer.json() == EMPTY_ANONYMOUS_CART
    assert Cart.objects.count() == 0


# --- authentication (the details are tested with the tokens) --------------------------------------


def test_cart_calls_without_credentials_are_401_with_www_authenticate(
    api: APIClient, products: dict[str, Product]
) -> None:
    answer = api.post(LINES_URL, {"sku": "MUG", "quantity": 1}, format="json")

    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == 'Bearer realm="commerceapi"'
    assert answer.json()["code"] == 2000
    assert Cart.objects.count() == 0


def test_cart_calls_without_the_context_are_401(
    api: APIClient, shopper: Shopper, products: dict[str, Product]
) -> None:
    answer = api.post(
        LINES_URL,
        {"sku": "MUG", "quantity": 1},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {shopper.token}",
    )

    assert answer.status_code == 401
    assert answer.json()["code"] == 2030
    assert Cart.objects.count() == 0


def test_a_token_without_the_bearer_prefix_is_401(
    api: APIClient, shopper: Shopper, products: dict[str, Product]
) -> None:
    answer = api.post(
        LINES_URL,
        {"sku": "MUG", "quantity": 1},
        format="json",
        HTTP_AUTHORIZATION=shopper.token,
        HTTP_X_CUSTOMER_CONTEXT=shopper.context,
    )

    assert answer.status_code == 401
    assert answer.json()["code"] == 2002
    assert Cart.objects.count() == 0


def test_the_storefront_key_alone_is_401_on_carts(
    api: APIClient, storefront: Storefront, products: dict[str, Product]
) -> None:
    answer = api.get(CART_URL, HTTP_X_AUTH_KEY=storefront.key)

    assert answer.status_code == 401
    assert Cart.objects.count() == 0
