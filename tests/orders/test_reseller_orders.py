"""Partners' orders on the Reseller surface: POST /reseller/orders (exactly once per
Idempotency-Key, current prices, stock guarded, the checkout's errors), GET /reseller/orders
(the partner's own, paginated, filtered by status and externalReference) and GET
/reseller/orders/{orderNumber}; another partner's or tenant's order is a 404; scopes."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog.models import Product
from orders.models import Order, OrderChannel, OrderStatus, OrderStatusChange
from orders.services import order_transition
from tests.conftest import (
    Storefront,
    assert_problem,
    iso,
    problem,
    tables_snapshot,
    validation_problem,
)
from tests.factories import ProductFactory
from tests.identity.oauth_helpers import token_request
from tests.identity.reseller_helpers import (
    RESELLER_ORDERS_URL,
    Partner,
    generate_token,
    make_partner,
    partner_headers,
    reseller_order_body,
    reseller_order_post,
)
from tests.orders.order_fixtures import KEY_REUSED, MUG_AND_CAP, guest_checkout, lines_unavailable

RESELLER_ORDER_NOT_FOUND = problem(
    "reseller_order_not_found",
    "Order not found",
    404,
    "No order of this partner has this number (another partner's or tenant's order is not this "
    "partner's).",
    7001,
)
INSUFFICIENT_SCOPE = problem(
    "insufficient_scope",
    "Insufficient scope",
    403,
    "The credentials are valid but lack the scope this endpoint needs.",
    2041,
)


@pytest.fixture
def token(api: APIClient, partner: Partner, products: dict[str, Product]) -> str:
    return generate_token(api, partner)


def reseller_answer(number: str, *, reference: str = "CRM-1") -> dict[str, Any]:
    order = Order.objects.get(number=number)
    return {
        "orderNumber": number,
        "status": order.status,
        "paymentStatus": order.payment_status,
        "currency": "EUR",
        "customer": {"email": "bob@example.com", "name": "Bob", "externalReference": reference},
        "lines": MUG_AND_CAP,
        "itemCount": 3,
        "subtotal": "43.00",
        "total": "43.00",
        "placedAt": iso(order.placed_at),
    }


# --- Placing --------------------------------------------------------------------------------


def test_a_partner_places_an_order_for_its_customer(
    api: APIClient, partner: Partner, token: str, products: dict[str, Product]
) -> None:
    answer = reseller_order_post(api, token)

    assert answer.status_code == 201, answer.content
    assert answer.json() == reseller_answer("ACME-000001")
    assert answer["Location"] == "/reseller/orders/ACME-000001"
    assert "Idempotent-Replayed" not in answer
    order = Order.objects.get()
    assert order.channel == OrderChannel.RESELLER
    assert order.partner_id == partner.client_id
    assert order.email == "bob@example.com"
    assert order.customer_name == "Bob"
    assert order.external_reference == "CRM-1"
    assert order.customer_id is None and order.anonymous_id is None and order.cart_id is None
    assert OrderStatusChange.objects.get().actor == f"partner:{partner.client_id}"
    products["cap"].refresh_from_db()
    assert products["cap"].stock == 2


def test_the_same_key_places_the_order_once(api: APIClient, token: str) -> None:
    first = reseller_order_post(api, token)
    before = tables_snapshot()

    again = reseller_order_post(api, token)

    assert again.status_code == 201
    assert again.content == first.content
    assert again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert tables_snapshot() == before


def test_the_same_key_with_another_body_is_422(api: APIClient, token: str) -> None:
    reseller_order_post(api, token)
    before = tables_snapshot()

    answer = reseller_order_post(api, token, reseller_order_body(expectedTotal="52.50"))

    assert_problem(answer, KEY_REUSED)
    assert tables_snapshot() == before


def test_another_partners_equal_key_is_another_order(
    api: APIClient, token: str, second_partner: Partner
) -> None:
    reseller_order_post(api, token)

    answer = reseller_order_post(api, generate_token(api, second_partner))

    assert answer.status_code == 201, answer.content
    assert answer.json()["orderNumber"] == "ACME-000002"


def test_a_key_is_required(api: APIClient, token: str) -> None:
    before = tables_snapshot()

    answer = reseller_order_post(api, token, key=None)

    assert answer.status_code == 400
    assert answer.json()["code"] == 1050
    assert tables_snapshot() == before


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            reseller_order_body(lines=[{"sku": "CAP", "quantity": 4}]),
            lines_unavailable(
                ("CAP", "quantity_above_stock", "Only 3 of 'CAP' in stock; the line holds 4.")
            ),
            id="above-stock",
        ),
        pytest.param(
            reseller_order_body(
                lines=[{"sku": "NOPE", "quantity": 1}, {"sku": "OLD", "quantity": 1}]
            ),
            lines_unavailable(
                ("NOPE", "sku_unknown", "No product has SKU 'NOPE'."),
                ("OLD", "sku_inactive", "'OLD' is no longer for sale."),
            ),
            id="unknown-and-inactive",
        ),
        pytest.param(
            reseller_order_body(lines=[{"sku": "TEE", "quantity": 6}]),
            lines_unavailable(
                (
                    "TEE",
                    "quantity_above_maximum",
                    "At most 5 of 'TEE' per order; the line holds 6.",
                )
            ),
            id="above-maximum",
        ),
        pytest.param(
            reseller_order_body(lines=[]),
            problem(
                "order_lines_invalid",
                "Invalid order lines",
                400,
                "An order needs at least one line.",
                5008,
                [
                    {
                        "field": "lines",
                        "code": "order_lines_invalid",
                        "message": "An order needs at least one line.",
                    }
                ],
            ),
            id="no-lines",
        ),
        pytest.param(
            reseller_order_body(
                lines=[{"sku": "MUG", "quantity": 1}, {"sku": "MUG", "quantity": 2}]
            ),
            problem(
                "order_lines_invalid",
                "Invalid order lines",
                400,
                "SKU 'MUG' is named twice.",
                5008,
                [
                    {
                        "field": "lines[1].sku",
                        "code": "order_lines_invalid",
                        "message": "SKU 'MUG' is named twice.",
                    }
                ],
            ),
            id="sku-twice",
        ),
        pytest.param(
            reseller_order_body(expectedTotal="40.00"),
            {
                **problem(
                    "order_total_changed",
                    "Total changed",
                    409,
                    "The order would cost 43.00 EUR, not 40.00.",
                    5004,
                ),
                "currency": "EUR",
                "expectedTotal": "40.00",
                "subtotal": "43.00",
                "total": "43.00",
            },
            id="total-changed",
        ),
        pytest.param(
            reseller_order_body(lines=[{"sku": "MUG", "quantity": 0}]),
            validation_problem(
                (
                    "lines[0].quantity",
                    "min_value",
                    "Ensure this value is greater than or equal to 1.",
                )
            ),
            id="quantity-zero",
        ),
        pytest.param(
            reseller_order_body(lines=[{"sku": "MUG", "quantity": "2"}]),
            validation_problem(("lines[0].quantity", "invalid", "A whole number is required.")),
            id="quantity-string",
        ),
        pytest.param(
            reseller_order_body(customer={"name": "Bob"}),
            validation_problem(("customer.email", "required", "This field is required.")),
            id="no-email",
        ),
        pytest.param(
            reseller_order_body(unitPrice="0.01"),
            validation_problem(("unitPrice", "unknown_field", "Not a field of a reseller order.")),
            id="price-in-body",
        ),
        pytest.param(
            reseller_order_body(status="fulfilled"),
            validation_problem(("status", "unknown_field", "Not a field of a reseller order.")),
            id="status-in-body",
        ),
        pytest.param(
            reseller_order_body(partner="ci_00000000000000000000"),
            validation_problem(("partner", "unknown_field", "Not a field of a reseller order.")),
            id="partner-in-body",
        ),
        pytest.param(
            reseller_order_body(lines=[{"sku": "MUG", "quantity": 1, "unitPrice": "0.01"}]),
            validation_problem(
                ("lines[0].unitPrice", "unknown_field", "Not a field of an order line.")
            ),
            id="price-in-line",
        ),
    ],
)
def test_a_refused_order_changes_nothing(
    api: APIClient, token: str, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    before = tables_snapshot()

    answer = reseller_order_post(api, token, body)

    assert_problem(answer, expected)
    assert tables_snapshot() == before


def test_a_refusal_is_judged_again_on_retry(
    api: APIClient, token: str, products: dict[str, Product]
) -> None:
    body = reseller_order_body(lines=[{"sku": "CAP", "quantity": 4}], expectedTotal="96.00")
    assert reseller_order_post(api, token, body).status_code == 400
    Product.objects.filter(pk=products["cap"].pk).update(stock=10)

    answer = reseller_order_post(api, token, body)

    assert answer.status_code == 201, answer.content


# --- Reading --------------------------------------------------------------------------------


def _place_many(api: APIClient, token: str, references: list[str]) -> list[str]:
    numbers = []
    for index, reference in enumerate(references):
        body = reseller_order_body(
            customer={"email": "bob@example.com", "name": "Bob", "externalReference": reference},
            lines=[{"sku": "MUG", "quantity": 1}],
            expectedTotal="9.50",
        )
        answer = reseller_order_post(api, token, body, key=f"key-{index}")
        assert answer.status_code == 201, answer.content
        numbers.append(answer.json()["orderNumber"])
    return numbers


def test_a_partner_reads_its_order(api: APIClient, token: str) -> None:
    number = reseller_order_post(api, token).json()["orderNumber"]

    answer = api.get(f"{RESELLER_ORDERS_URL}/{number.lower()}", **partner_headers(token))

    assert answer.status_code == 200, answer.content
    assert answer.json() == reseller_answer(number)


def test_the_list_is_the_partners_own_newest_first_and_paginated(
    api: APIClient, token: str, second_partner: Partner
) -> None:
    numbers = _place_many(api, token, ["A", "B", "C"])
    other = generate_token(api, second_partner)
    _place_many(api, other, ["A"])

    answer = api.get(RESELLER_ORDERS_URL, {"pageSize": 2}, **partner_headers(token))

    assert answer.status_code == 200, answer.content
    page = answer.json()
    assert page["count"] == 3
    assert [order["orderNumber"] for order in page["results"]] == [numbers[2], numbers[1]]
    assert page["next"] is not None and page["previous"] is None
    last = api.get(RESELLER_ORDERS_URL, {"pageSize": 2, "page": "last"}, **partner_headers(token))
    assert [order["orderNumber"] for order in last.json()["results"]] == [numbers[0]]


def test_the_list_filters_by_external_reference_and_status(api: APIClient, token: str) -> None:
    numbers = _place_many(api, token, ["A", "B", "A"])
    order_transition(
        order_id=Order.objects.get(number=numbers[0]).pk,
        target=OrderStatus.CANCELLED,
        actor="operator:test",
    )

    by_reference = api.get(
        RESELLER_ORDERS_URL, {"externalReference": "A"}, **partner_headers(token)
    )
    by_status = api.get(RESELLER_ORDERS_URL, {"status": "placed"}, **partner_headers(token))
    both = api.get(
        RESELLER_ORDERS_URL,
        {"status": "placed", "externalReference": "A"},
        **partner_headers(token),
    )

    def listed(answer: Any) -> list[str]:
        assert answer.status_code == 200, answer.content
        return [order["orderNumber"] for order in answer.json()["results"]]

    assert listed(by_reference) == [numbers[2], numbers[0]]
    assert listed(by_status) == [numbers[2], numbers[1]]
    assert listed(both) == [numbers[2]]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"status": "shipped"}, "status", "One of placed, fulfilled, cancelled."),
        ({"status": ["placed", "cancelled"]}, "status", "Send it at most once."),
        ({"externalReference": "x" * 101}, "externalReference", "1 to 100 characters."),
        ({"externalReference": ""}, "externalReference", "1 to 100 characters."),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(
    api: APIClient, token: str, query: dict[str, Any], field: str, message: str
) -> None:
    answer = api.get(RESELLER_ORDERS_URL, query, **partner_headers(token))

    assert_problem(
        answer,
        problem(
            "reseller_order_filter_invalid",
            "Invalid filter",
            400,
            message,
            7002,
            [{"field": field, "code": "reseller_order_filter_invalid", "message": message}],
        ),
    )


def test_another_partners_order_is_a_404(
    api: APIClient, token: str, second_partner: Partner
) -> None:
    number = reseller_order_post(api, token).json()["orderNumber"]
    other = generate_token(api, second_partner)

    assert_problem(
        api.get(f"{RESELLER_ORDERS_URL}/{number}", **partner_headers(other)),
        RESELLER_ORDER_NOT_FOUND,
    )
    assert api.get(RESELLER_ORDERS_URL, **partner_headers(other)).json()["count"] == 0


def test_another_tenants_order_is_a_404(
    api: APIClient,
    token: str,
    foreign_partner: Partner,
    other_storefront: Storefront,
) -> None:
    # globex's partner of the same name orders in globex; neither sees the other's order
    ProductFactory(tenant=other_storefront.tenant, sku="MUG", unit_price="9.50")
    ProductFactory(tenant=other_storefront.tenant, sku="CAP", unit_price="24.00")
    foreign = generate_token(api, foreign_partner)
    foreign_number = reseller_order_post(api, foreign).json()["orderNumber"]
    own_number = reseller_order_post(api, token).json()["orderNumber"]

    assert_problem(
        api.get(f"{RESELLER_ORDERS_URL}/{foreign_number}", **partner_headers(token)),
        RESELLER_ORDER_NOT_FOUND,
    )
    assert_problem(
        api.get(f"{RESELLER_ORDERS_URL}/{own_number}", **partner_headers(foreign)),
        RESELLER_ORDER_NOT_FOUND,
    )


def test_a_shoppers_order_is_no_partners(api: APIClient, token: str, carted_guest: Any) -> None:
    number = guest_checkout(api, carted_guest).json()["orderNumber"]

    assert_problem(
        api.get(f"{RESELLER_ORDERS_URL}/{number}", **partner_headers(token)),
        RESELLER_ORDER_NOT_FOUND,
    )


def test_a_partners_order_is_no_shoppers(api: APIClient, token: str, carted_guest: Any) -> None:
    number = reseller_order_post(api, token).json()["orderNumber"]

    answer = api.get(f"/commerceapi/orders/{number}", **carted_guest.headers())

    assert answer.status_code == 404
    assert answer.json()["code"] == 5006


# --- Scopes ---------------------------------------------------------------------------------


def test_a_reader_may_not_place(
    api: APIClient, storefront: Storefront, products: dict[str, Product]
) -> None:
    reader = make_partner(storefront.tenant, "Reader", scopes=["reseller:orders:read"])
    reader_token = generate_token(api, reader)
    before = tables_snapshot()

    assert_problem(reseller_order_post(api, reader_token), INSUFFICIENT_SCOPE)
    assert tables_snapshot() == before
    assert api.get(RESELLER_ORDERS_URL, **partner_headers(reader_token)).status_code == 200


def test_a_writer_may_not_read(
    api: APIClient, storefront: Storefront, products: dict[str, Product]
) -> None:
    writer = make_partner(storefront.tenant, "Writer", scopes=["reseller:orders:write"])
    writer_token = generate_token(api, writer)
    number = reseller_order_post(api, writer_token).json()["orderNumber"]

    assert_problem(
        api.get(RESELLER_ORDERS_URL, **partner_headers(writer_token)), INSUFFICIENT_SCOPE
    )
    assert_problem(
        api.get(f"{RESELLER_ORDERS_URL}/{number}", **partner_headers(writer_token)),
        INSUFFICIENT_SCOPE,
    )


def test_a_token_narrowed_at_oauth_token_holds_only_what_it_asked(
    api: APIClient, partner: Partner, products: dict[str, Product]
) -> None:
    narrowed = token_request(
        api, partner.basic(), grant_type="client_credentials", scope="reseller:orders:read"
    ).json()["access_token"]

    assert_problem(reseller_order_post(api, narrowed), INSUFFICIENT_SCOPE)
