"""The cart endpoints for an anonymous shopper: the whole cart answer, each change, bad input.

Every failure is asserted as the whole problem document, and against a snapshot of the cart
tables taken before the request: a failed request changes nothing.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.response import Response
from rest_framework.test import APIClient

from carts.models import Cart, CartLine
from catalog.models import Product
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
    field_error,
    iso,
    problem,
    tables_snapshot,
    validation_problem,
)

pytestmark = pytest.mark.django_db


# --- helpers ------------------------------------------------------------------------------------


def line_url(sku: str) -> str:
    return f"{LINES_URL}/{sku}"


def line_set(api: APIClient, shopper: Shopper, sku: str, body: Any) -> Response:
    return api.patch(line_url(sku), body, format="json", **shopper.headers())


def line_delete(api: APIClient, shopper: Shopper, sku: str) -> Response:
    return api.delete(line_url(sku), **shopper.headers())


def raw_post(api: APIClient, shopper: Shopper, data: str | bytes, content_type: str) -> Response:
    return api.generic("POST", LINES_URL, data, content_type=content_type, **shopper.headers())


def open_cart(shopper: Shopper) -> Cart:
    return Cart.objects.get(anonymous_id=shopper.anonymous_id, status="open")


def domain_problem(slug: str, title: str, code: int, field: str, message: str) -> dict[str, Any]:
    """A 400 of the cart's rules, naming the field at fault."""
    return problem(slug, title, 400, message, code, [field_error(field, slug, message)])


@pytest.fixture
def filled(api: APIClient, shopper: Shopper, products: dict[str, Product]) -> Shopper:
    """The shopper's cart holds 2 MUG and 1 CAP."""
    assert line_add(api, shopper, {"sku": "MUG", "quantity": 2}).status_code == 200
    assert line_add(api, shopper, {"sku": "CAP", "quantity": 1}).status_code == 200
    return shopper


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


# --- bad input: the catalog and the limits ------------------------------------------------------


def test_unknown_sku_is_400_4001_and_creates_no_cart(
    api: APIClient, shopper: Shopper, products: dict[str, Product]
) -> None:
    # when a shopper without a cart adds a SKU nobody sells
    answer = line_add(api, shopper, {"sku": "NOPE", "quantity": 1})

    # then 400 naming sku, and no cart was created by the failed first add
    assert_problem(
        answer,
        domain_problem("sku_unknown", "Unknown SKU", 4001, "sku", "No product has SKU 'NOPE'."),
    )
    assert Cart.objects.count() == 0


def test_unknown_sku_on_patch_is_400_4001(api: APIClient, filled: Shopper) -> None:
    before = tables_snapshot()

    answer = line_set(api, filled, "NOPE", {"quantity": 1})

    assert_problem(
        answer,
        domain_problem("sku_unknown", "Unknown SKU", 4001, "sku", "No product has SKU 'NOPE'."),
    )
    assert tables_snapshot() == before


def test_inactive_sku_is_400_4002(api: APIClient, filled: Shopper) -> None:
    # given a cart
    before = tables_snapshot()

    # when a product that is no longer for sale is added
    answer = line_add(api, filled, {"sku": "OLD", "quantity": 1})

    # then 400 naming sku; nothing changed
    assert_problem(
        answer,
        domain_problem(
            "sku_inactive",
            "Product not for sale",
            4002,
            "sku",
            "The product 'OLD' is no longer for sale.",
        ),
    )
    assert tables_snapshot() == before


def test_a_product_deactivated_after_the_add_cannot_be_set(api: APIClient, filled: Shopper) -> None:
    # given MUG in the cart, then taken off sale
    Product.objects.filter(sku="MUG").update(is_active=False)
    before = tables_snapshot()

    # when its line is set to another quantity
    answer = line_set(api, filled, "MUG", {"quantity": 3})

    # then 400 naming sku; nothing changed
    assert answer.status_code == 400
    assert answer.json()["code"] == 4002
    assert answer.json()["errors"][0]["field"] == "sku"
    assert tables_snapshot() == before


def above_stock(quantity: int) -> dict[str, Any]:
    return domain_problem(
        "quantity_above_stock",
        "Not enough stock",
        4003,
        "quantity",
        f"Only 3 of 'CAP' in stock; the line would hold {quantity}.",
    )


def above_maximum(quantity: int) -> dict[str, Any]:
    return domain_problem(
        "quantity_above_maximum",
        "Above the per-order maximum",
        4004,
        "quantity",
        f"At most 5 of 'TEE' per order; the line would hold {quantity}.",
    )


def test_add_above_stock_is_400_4003(api: APIClient, filled: Shopper) -> None:
    # given 1 CAP in the cart, 3 in stock
    before = tables_snapshot()

    # when 3 more are added (the line would hold 4)
    answer = line_add(api, filled, {"sku": "CAP", "quantity": 3})

    # then 400 naming quantity; the line still holds 1
    assert_problem(answer, above_stock(4))
    assert tables_snapshot() == before


def test_first_add_above_stock_creates_no_cart(
    api: APIClient, shopper: Shopper, products: dict[str, Product]
) -> None:
    answer = line_add(api, shopper, {"sku": "CAP", "quantity": 4})

    assert_problem(answer, above_stock(4))
    assert Cart.objects.count() == 0
    assert CartLine.objects.count() == 0


def test_set_above_stock_is_400_4003(api: APIClient, filled: Shopper) -> None:
    before = tables_snapshot()

    answer = line_set(api, filled, "CAP", {"quantity": 4})

    assert_problem(answer, above_stock(4))
    assert tables_snapshot() == before


def test_add_above_the_per_order_maximum_is_400_4004(api: APIClient, filled: Shopper) -> None:
    # given 4 TEE in the cart, at most 5 per order
    assert line_add(api, filled, {"sku": "TEE", "quantity": 4}).status_code == 200
    before = tables_snapshot()

    # when 2 more are added
    answer = line_add(api, filled, {"sku": "TEE", "quantity": 2})

    # then 400 naming quantity; the line still holds 4
    assert_problem(answer, above_maximum(6))
    assert tables_snapshot() == before


def test_set_above_the_per_order_maximum_is_400_4004(api: APIClient, filled: Shopper) -> None:
    assert line_add(api, filled, {"sku": "TEE", "quantity": 1}).status_code == 200
    before = tables_snapshot()

    answer = line_set(api, filled, "TEE", {"quantity": 6})

    assert_problem(answer, above_maximum(6))
    assert tables_snapshot() == before


def test_adding_to_a_line_past_the_cart_quantity_limit_is_400_4004(
    api: APIClient, shopper: Shopper, products: dict[str, Product]
) -> None:
    # given a MUG line (unlimited stock, no per-order maximum) at the cart's limit of 9999
    assert line_add(api, shopper, {"sku": "MUG", "quantity": 9999}).status_code == 200
    before = tables_snapshot()

    # when one more is added
    answer = line_add(api, shopper, {"sku": "MUG", "quantity": 1})

    # then 400 naming quantity; the line still holds 9999
    assert_problem(
        answer,
        domain_problem(
            "quantity_above_maximum",
            "Above the per-order maximum",
            4004,
            "quantity",
            "At most 9999 of 'MUG' per order; the line would hold 10000.",
        ),
    )
    assert tables_snapshot() == before


@override_settings(CART_MAX_LINES=2)
def test_a_line_past_cart_max_lines_is_400_4005(api: APIClient, filled: Shopper) -> None:
    # given a cart at its limit of 2 lines
    before = tables_snapshot()

    # when a third SKU is added
    answer = line_add(api, filled, {"sku": "TEE", "quantity": 1})

    # then 400 naming sku; nothing changed
    assert_problem(
        answer,
        domain_problem(
            "too_many_lines", "Too many lines", 4005, "sku", "A cart holds at most 2 lines."
        ),
    )
    assert tables_snapshot() == before

    # and adding to a line the cart already holds still works
    answer = line_add(api, filled, {"sku": "MUG", "quantity": 1})
    assert answer.status_code == 200, answer.content
    assert [item["quantity"] for item in answer.json()["lines"]] == [3, 1]


# --- bad input: the body ------------------------------------------------------------------------

WHOLE_NUMBER = "A whole number is required."

BAD_ADD_QUANTITIES = [
    pytest.param(0, "min_value", "Ensure this value is greater than or equal to 1.", id="zero"),
    pytest.param(-1, "min_value", "Ensure this value is greater than or equal to 1.", id="-1"),
    pytest.param(
        -(10**9), "min_value", "Ensure this value is greater than or equal to 1.", id="-10**9"
    ),
    pytest.param(1.0, "invalid", WHOLE_NUMBER, id="float-1.0"),
    pytest.param(1.5, "invalid", WHOLE_NUMBER, id="float-1.5"),
    pytest.param("2", "invalid", WHOLE_NUMBER, id="string"),
    pytest.param(True, "invalid", WHOLE_NUMBER, id="true"),
    pytest.param(False, "invalid", WHOLE_NUMBER, id="false"),
    pytest.param([1], "invalid", WHOLE_NUMBER, id="list"),
    pytest.param({"value": 1}, "invalid", WHOLE_NUMBER, id="object"),
    pytest.param(None, "null", "This field may not be null.", id="null"),
    pytest.param(10**9, "max_value", "Ensure this value is less than or equal to 9999.", id="1e9"),
    pytest.param(
        10**30, "max_value", "Ensure this value is less than or equal to 9999.", id="1e30"
    ),
]


@pytest.mark.parametrize(("quantity", "code", "message"), BAD_ADD_QUANTITIES)
def test_add_with_a_quantity_that_is_not_a_positive_whole_number_is_400(
    api: APIClient, filled: Shopper, quantity: Any, code: str, message: str
) -> None:
    # given a cart
    before = tables_snapshot()

    # when a quantity that is not a whole number from 1 to the limit is added
    answer = line_add(api, filled, {"sku": "MUG", "quantity": quantity})

    # then 400 naming quantity; nothing changed
    assert_problem(answer, validation_problem(("quantity", code, message)))
    assert tables_snapshot() == before


@pytest.mark.parametrize(
    ("quantity", "code", "message"),
    [
        pytest.param(-1, "min_value", "Ensure this value is greater than or equal to 0.", id="-1"),
        pytest.param(1.0, "invalid", WHOLE_NUMBER, id="float-1.0"),
        pytest.param(0.0, "invalid", WHOLE_NUMBER, id="float-0.0"),
        pytest.param("0", "invalid", WHOLE_NUMBER, id="string"),
        pytest.param(True, "invalid", WHOLE_NUMBER, id="true"),
        pytest.param(None, "null", "This field may not be null.", id="null"),
        pytest.param(
            10**9, "max_value", "Ensure this value is less than or equal to 9999.", id="1e9"
        ),
    ],
)
def test_set_with_a_quantity_that_is_not_a_whole_number_is_400(
    api: APIClient, filled: Shopper, quantity: Any, code: str, message: str
) -> None:
    before = tables_snapshot()

    answer = line_set(api, filled, "MUG", {"quantity": quantity})

    assert_problem(answer, validation_problem(("quantity", code, message)))
    assert tables_snapshot() == before


REQUIRED = "This field is required."


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        pytest.param(
            {}, [("sku", "required", REQUIRED), ("quantity", "required", REQUIRED)], id="empty"
        ),
        pytest.param({"sku": "MUG"}, [("quantity", "required", REQUIRED)], id="no-quantity"),
        pytest.param({"quantity": 1}, [("sku", "required", REQUIRED)], id="no-sku"),
        pytest.param(
            {"sku": "", "quantity": 1},
            [("sku", "blank", "This field may not be blank.")],
            id="blank-sku",
        ),
        pytest.param(
            {"sku": None, "quantity": 1},
            [("sku", "null", "This field may not be null.")],
            id="null-sku",
        ),
        pytest.param(
            {"sku": ["MUG"], "quantity": 1},
            [("sku", "invalid", "Not a valid string.")],
            id="list-sku",
        ),
        pytest.param(
            {"sku": "M" * 65, "quantity": 1},
            [("sku", "max_length", "Ensure this field has no more than 64 characters.")],
            id="long-sku",
        ),
        pytest.param(
            {"sku": "MUG\u0000", "quantity": 1},
            [("sku", "null_characters_not_allowed", "Null characters are not allowed.")],
            id="nul-in-sku",
        ),
        pytest.param(
            {"sku": "", "quantity": 0},
            [
                ("sku", "blank", "This field may not be blank."),
                ("quantity", "min_value", "Ensure this value is greater than or equal to 1."),
            ],
            id="both-bad",
        ),
    ],
)
def test_add_with_missing_or_bad_fields_is_400_naming_each(
    api: APIClient, filled: Shopper, body: dict[str, Any], errors: list[tuple[str, str, str]]
) -> None:
    before = tables_snapshot()

    answer = line_add(api, filled, body)

    assert_problem(answer, validation_problem(*errors))
    assert tables_snapshot() == before


def test_set_without_quantity_is_400(api: APIClient, filled: Shopper) -> None:
    before = tables_snapshot()

    answer = line_set(api, filled, "MUG", {"qty": 3})

    assert_problem(answer, validation_problem(("quantity", "required", REQUIRED)))
    assert tables_snapshot() == before


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        pytest.param([{"sku": "MUG", "quantity": 1}], "list", id="list"),
        pytest.param("MUG", "str", id="string"),
        pytest.param(5, "int", id="number"),
        pytest.param(True, "bool", id="true"),
    ],
)
def test_a_body_that_is_not_an_object_is_400(
    api: APIClient, filled: Shopper, body: Any, kind: str
) -> None:
    before = tables_snapshot()

    answer = raw_post(api, filled, json.dumps(body), "application/json")

    assert_problem(
        answer,
        validation_problem(
            ("body", "invalid", f"Invalid data. Expected a dictionary, but got {kind}.")
        ),
    )
    assert tables_snapshot() == before


def test_a_null_body_is_400(api: APIClient, filled: Shopper) -> None:
    before = tables_snapshot()

    answer = raw_post(api, filled, "null", "application/json")

    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] == 1000
    assert answer.json()["errors"][0]["field"] == "body"
    assert tables_snapshot() == before


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param('{"sku": "MUG", "quantity": 1', id="truncated"),
        pytest.param("{'sku': 'MUG', 'quantity': 1}", id="single-quotes"),
        pytest.param('{"sku": "MUG", "quantity": NaN}', id="nan"),
        pytest.param('{"sku": "MUG", "quantity": Infinity}', id="infinity"),
        pytest.param(b'{"sku": "\xff\xfe", "quantity": 1}', id="not-utf8"),
    ],
)
def test_malformed_json_is_400_1001(api: APIClient, filled: Shopper, raw: str | bytes) -> None:
    before = tables_snapshot()

    answer = raw_post(api, filled, raw, "application/json")

    assert answer.status_code == 400, answer.content
    assert answer["Content-Type"] == "application/problem+json"
    body = answer.json()
    assert body.pop("detail").startswith("JSON parse error")
    assert body == {
        "type": "urn:commerceapi:problem:malformed_request",
        "title": "Malformed request",
        "status": 400,
        "code": 1001,
    }
    assert tables_snapshot() == before


def test_an_empty_body_is_400_naming_both_fields(api: APIClient, filled: Shopper) -> None:
    before = tables_snapshot()

    answer = raw_post(api, filled, "", "application/json")

    assert_problem(
        answer,
        validation_problem(("sku", "required", REQUIRED), ("quantity", "required", REQUIRED)),
    )
    assert tables_snapshot() == before


def test_a_body_over_64_kb_is_413_1013(api: APIClient, filled: Shopper) -> None:
    # given a valid add padded past 64 KB
    before = tables_snapshot()
    body = json.dumps({"sku": "MUG", "quantity": 1, "padding": "x" * (64 * 1024)})

    # when it is sent
    answer = raw_post(api, filled, body, "application/json")

    # then 413 before anything reads it; nothing changed
    assert_problem(
        answer,
        problem(
            "body_too_large",
            "Request body too large",
            413,
            "The request body exceeds the limit.",
            1013,
        ),
    )
    assert tables_snapshot() == before


def test_a_body_just_under_the_limit_is_read(api: APIClient, filled: Shopper) -> None:
    # given a valid add padded to just under 64 KB (extra fields are ignored)
    body = json.dumps({"sku": "MUG", "quantity": 1, "padding": ""})
    body = body.replace('""', '"' + "x" * (64 * 1024 - len(body)) + '"')
    assert len(body.encode()) == 64 * 1024

    answer = raw_post(api, filled, body, "application/json")

    assert answer.status_code == 200, answer.content
    assert answer.json()["lines"][0]["quantity"] == 3


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        ("text/plain", '{"sku": "MUG", "quantity": 1}'),
        ("application/x-www-form-urlencoded", "sku=MUG&quantity=1"),
        ("multipart/form-data; boundary=x", '--x\r\nContent-Disposition: form-data; name="sku"'),
        ("application/xml", "<line><sku>MUG</sku><quantity>1</quantity></line>"),
    ],
)
def test_a_body_that_is_not_json_is_415(
    api: APIClient, filled: Shopper, content_type: str, raw: str
) -> None:
    before = tables_snapshot()

    answer = raw_post(api, filled, raw, content_type)

    media_type = content_type.split(";")[0]
    assert answer.status_code == 415, answer.content
    assert answer["Content-Type"] == "application/problem+json"
    body = answer.json()
    assert body.pop("detail").startswith(f'Unsupported media type "{media_type}')
    assert body == {
        "type": "urn:commerceapi:problem:unsupported_media_type",
        "title": "Unsupported media type",
        "status": 415,
        "code": 1015,
    }
    assert tables_snapshot() == before


def test_patch_with_a_body_that_is_not_json_is_415(api: APIClient, filled: Shopper) -> None:
    before = tables_snapshot()

    answer = api.generic(
        "PATCH", line_url("MUG"), "quantity=5", content_type="text/plain", **filled.headers()
    )

    assert answer.status_code == 415
    assert answer.json()["code"] == 1015
    assert tables_snapshot() == before


def test_an_unsupported_method_is_405(api: APIClient, filled: Shopper) -> None:
    before = tables_snapshot()

    answer = api.put(LINES_URL, {"sku": "MUG", "quantity": 1}, format="json", **filled.headers())

    assert answer.status_code == 405
    assert answer.json()["code"] == 1005
    assert tables_snapshot() == before


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
