"""Bad input: the catalog and the limits; bad input: the body. Part of the test_cart_api suite,
whose docstring says what it covers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from carts.models import Cart, CartLine
from catalog.models import Product
from tests.carts.cart_api_common import (
    domain_problem,
    line_set,
    line_url,
    raw_post,
)
from tests.carts.migration_fixtures import (
    LINES_URL,
    line_add,
)
from tests.conftest import (
    Shopper,
    assert_problem,
    problem,
    tables_snapshot,
    validation_problem,
)

pytestmark = pytest.mark.django_db


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
