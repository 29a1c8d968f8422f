"""POST /commerceapi/orders (and its alias POST /Orders/Create): a shopper's cart becomes an
order, priced and stocked in one transaction; every refusal changes nothing."""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from carts.models import Cart
from catalog.models import Product
from orders.models import Order, OrderLine, OrderStatusChange
from tests.carts.migration_fixtures import CART_URL, EMPTY_ANONYMOUS_CART, lines_add
from tests.conftest import (
    Shopper,
    Storefront,
    anonymous_shopper,
    assert_problem,
    bearer_headers,
    make_storefront,
    problem,
    tables_snapshot,
    validation_problem,
)
from tests.factories import ProductFactory, TenantFactory
from tests.identity.oauth_helpers import Client, token_request
from tests.identity.provider_fixtures import CustomerSession
from tests.orders.order_fixtures import (
    ALIAS_URL,
    CART_EMPTY,
    CUSTOMER_EMAIL,
    GUEST_EMAIL,
    MUG_AND_CAP,
    ORDERS_URL,
    cart_already_ordered,
    checkout,
    guest_checkout,
    lines_unavailable,
    order_answer,
    order_line,
    scoped_guest,
)

pytestmark = pytest.mark.django_db


# --- what a checkout answers and does -------------------------------------------------------


def test_a_guest_checks_out_the_cart(
    api: APIClient, storefront: Storefront, carted_guest: Shopper
) -> None:
    # given a guest's cart of 2 MUG (unlimited) and 1 CAP (3 in stock)
    cart = Cart.objects.get(anonymous_id=carted_guest.anonymous_id)

    # when the guest checks out with an e-mail
    answer = guest_checkout(api, carted_guest)

    # then the order is the cart, priced, numbered, placed and pending payment
    assert answer.status_code == 201, answer.content
    assert answer.json() == order_answer(
        "ACME-000001", MUG_AND_CAP, email=GUEST_EMAIL, customer_id=None
    )
    assert answer.json()["status"] == "placed"
    assert answer.json()["paymentStatus"] == "pending"
    assert answer.json()["total"] == "43.00"
    assert answer["Location"] == "/commerceapi/orders/ACME-000001"
    assert answer["Content-Type"] == "application/json"
    assert "Idempotent-Replayed" not in answer
    # the stock is taken, the cart closed and pointing at its order, the history started
    assert Product.objects.get(sku="CAP").stock == 2
    assert Product.objects.get(sku="MUG").stock is None
    order = Order.objects.get()
    cart.refresh_from_db()
    assert (cart.status, cart.order) == ("ordered", order)
    assert (str(order.anonymous_id), order.customer_id) == (carted_guest.anonymous_id, None)
    assert list(
        OrderStatusChange.objects.values_list("field", "from_value", "to_value", "actor")
    ) == [("status", "", "placed", f"guest:{carted_guest.anonymous_id}")]
    # and the shopper's next cart call finds an empty cart
    assert api.get(CART_URL, **carted_guest.headers()).json() == EMPTY_ANONYMOUS_CART


def test_a_customer_checks_out_with_the_profile_e_mail(
    api: APIClient, carted_customer: CustomerSession
) -> None:
    # when a signed-in customer checks out without naming an e-mail
    answer = checkout(api, carted_customer)

    # then the order is the customer's, confirmed to the profile's e-mail
    assert answer.status_code == 201, answer.content
    assert answer.json() == order_answer(
        "ACME-000001",
        MUG_AND_CAP,
        email=CUSTOMER_EMAIL,
        customer_id=carted_customer.customer_id,
    )
    order = Order.objects.get()
    assert order.anonymous_id is None
    assert OrderStatusChange.objects.get().actor == f"customer:{carted_customer.customer_id}"


def test_a_customer_may_name_another_e_mail(
    api: APIClient, carted_customer: CustomerSession
) -> None:
    answer = checkout(api, carted_customer, {"email": "orders@ada.example"})

    assert answer.status_code == 201, answer.content
    assert answer.json()["email"] == "orders@ada.example"


def test_the_alias_is_the_same_checkout(api: APIClient, carted_guest: Shopper) -> None:
    # when the guest checks out through POST /Orders/Create
    answer = checkout(api, carted_guest, {"email": GUEST_EMAIL}, url=ALIAS_URL)

    # then it answers exactly what /commerceapi/orders answers
    assert answer.status_code == 201, answer.content
    assert answer.json() == order_answer(
        "ACME-000001", MUG_AND_CAP, email=GUEST_EMAIL, customer_id=None
    )
    assert answer["Location"] == "/commerceapi/orders/ACME-000001"
    # and it is only the checkout: no listing of orders under that path
    listing = api.get(ALIAS_URL, **carted_guest.headers())
    assert listing.status_code == 405


def test_the_alias_replays_a_checkout_made_under_the_main_path(
    api: APIClient, carted_guest: Shopper
) -> None:
    first = guest_checkout(api, carted_guest, key="same-key")

    again = checkout(api, carted_guest, {"email": GUEST_EMAIL}, key="same-key", url=ALIAS_URL)

    assert again.status_code == 201
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1


def test_order_numbers_are_sequential_per_tenant(
    api: APIClient, storefront: Storefront, products: dict[str, Product]
) -> None:
    # given two guests of acme and one of globex, each with a cart
    globex = make_storefront(tenant=TenantFactory(slug="globex"))
    ProductFactory(tenant=globex.tenant, sku="MUG", unit_price="9.50")
    shoppers = [
        anonymous_shopper(api, storefront.key),
        anonymous_shopper(api, globex.key),
        anonymous_shopper(api, storefront.key),
    ]
    for shopper in shoppers:
        lines_add(api, shopper, MUG=1)

    # when they check out one after the other
    numbers = [guest_checkout(api, shopper).json()["orderNumber"] for shopper in shoppers]

    # then each tenant counts on its own
    assert numbers == ["ACME-000001", "GLOBEX-000001", "ACME-000002"]
    assert sorted(Order.objects.values_list("tenant__slug", "sequence")) == [
        ("acme", 1),
        ("acme", 2),
        ("globex", 1),
    ]


def test_the_order_is_a_snapshot_of_what_was_sold(
    api: APIClient, carted_guest: Shopper, products: dict[str, Product]
) -> None:
    # given a placed order
    placed = guest_checkout(api, carted_guest).json()

    # when the catalog changes the products' names and prices, and retires one
    Product.objects.filter(sku="MUG").update(name="Renamed mug", unit_price="99.00")
    Product.objects.filter(sku="CAP").update(unit_price="1.00", is_active=False)

    # then the order still holds what was sold
    answer = api.get(f"{ORDERS_URL}/ACME-000001", **carted_guest.headers())
    assert answer.status_code == 200
    assert answer.json() == placed
    assert list(OrderLine.objects.values_list("sku", "name", "unit_price", "quantity")) == [
        ("MUG", "Product MUG", Decimal("9.50"), 2),
        ("CAP", "Product CAP", Decimal("24.00"), 1),
    ]


def test_prices_are_the_current_ones(api: APIClient, carted_guest: Shopper) -> None:
    # given the MUG's price went up after it was put in the cart
    Product.objects.filter(sku="MUG").update(unit_price="10.00")

    # when the guest checks out without an expected total
    answer = guest_checkout(api, carted_guest)

    # then the order is at today's price
    assert answer.status_code == 201
    assert answer.json()["lines"][0] == order_line("MUG", 2, "10.00")
    assert answer.json()["total"] == "44.00"


def test_an_expected_total_that_matches_places_the_order(
    api: APIClient, carted_guest: Shopper
) -> None:
    answer = checkout(api, carted_guest, {"email": GUEST_EMAIL, "expectedTotal": "43.00"})

    assert answer.status_code == 201, answer.content
    assert answer.json()["total"] == "43.00"


def test_another_total_than_expected_is_409_with_the_new_totals(
    api: APIClient, carted_guest: Shopper
) -> None:
    # given the MUG's price changed after the shopper saw 43.00
    Product.objects.filter(sku="MUG").update(unit_price="10.00")
    before = tables_snapshot()

    # when the guest checks out expecting 43.00
    answer = checkout(api, carted_guest, {"email": GUEST_EMAIL, "expectedTotal": "43.00"})

    # then nothing is ordered and the answer says what the order would cost now
    assert_problem(
        answer,
        {
            **problem(
                "order_total_changed",
                "Total changed",
                409,
                "The order would cost 44.00 EUR, not 43.00.",
                5004,
            ),
            "currency": "EUR",
            "expectedTotal": "43.00",
            "subtotal": "44.00",
            "total": "44.00",
        },
    )
    assert tables_snapshot() == before


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantities", "errors"),
    [
        pytest.param(
            {"GOLD": 101},
            [("GOLD", "1009999999998.99 is above 999999999999.99.")],
            id="a line above it",
        ),
        pytest.param({"GOLD": 100, "SILVER": 100}, [], id="only the sum above it"),
    ],
)
def test_an_order_above_what_an_order_records_is_400_and_nothing_changes(
    api: APIClient,
    storefront: Storefront,
    quantities: dict[str, int],
    errors: list[tuple[str, str]],
) -> None:
    # given a guest's cart of the dearest products a catalog holds
    for sku in ("GOLD", "SILVER"):
        ProductFactory(tenant=storefront.tenant, sku=sku, unit_price=Decimal("9999999999.99"))
    guest = anonymous_shopper(api, storefront.key)
    lines_add(api, guest, **quantities)
    before = tables_snapshot()

    # when the guest checks out
    answer = guest_checkout(api, guest)

    # then it is refused with the lines at fault named, nothing ordered (PostgreSQL's columns
    # would refuse the amounts: a 500 before)
    total = sum(Decimal("9999999999.99") * quantity for quantity in quantities.values())
    assert_problem(
        answer,
        problem(
            "order_total_too_large",
            "Order total too large",
            400,
            f"The order would cost {total:.2f}, above the 999999999999.99 an order records.",
            5009,
            [
                {"field": f"lines.{sku}", "code": "order_total_too_large", "message": message}
                for sku, message in errors
            ]
            or None,
        ),
    )
    assert tables_snapshot() == before


@pytest.mark.parametrize(
    ("pin_price", "status"), [("0.99", 201), ("1.00", 400)], ids=["at it", "a cent above"]
)
def test_an_order_of_exactly_what_an_order_records_is_placed(
    api: APIClient, storefront: Storefront, pin_price: str, status: int
) -> None:
    # given a cart of 999999999999.00 of gold and a pin
    ProductFactory(tenant=storefront.tenant, sku="GOLD", unit_price=Decimal("9999999999.99"))
    ProductFactory(tenant=storefront.tenant, sku="PIN", unit_price=Decimal(pin_price))
    guest = anonymous_shopper(api, storefront.key)
    lines_add(api, guest, GOLD=100, PIN=1)

    # when the guest checks out
    answer = guest_checkout(api, guest)

    # then 999999999999.99 is placed (the columns hold it); a cent more is refused, no line
    # above the limit on its own
    assert answer.status_code == status, answer.content
    if status == 201:
        assert answer.json()["total"] == "999999999999.99"
        assert Order.objects.get().total == Decimal("999999999999.99")
    else:
        assert answer.json()["code"] == 5009
        assert "errors" not in answer.json()


def test_a_cart_without_lines_is_409(api: APIClient, carted_guest: Shopper) -> None:
    # given the guest emptied the cart (it exists, with no line)
    assert api.delete(CART_URL, **carted_guest.headers()).status_code == 200
    before = tables_snapshot()

    answer = guest_checkout(api, carted_guest)

    assert_problem(answer, CART_EMPTY)
    assert tables_snapshot() == before


def test_no_cart_at_all_is_409_empty(
    api: APIClient, storefront: Storefront, products: dict[str, Product]
) -> None:
    shopper = anonymous_shopper(api, storefront.key)
    before = tables_snapshot()

    answer = guest_checkout(api, shopper)

    assert_problem(answer, CART_EMPTY)
    assert tables_snapshot() == before


def test_a_second_key_on_an_ordered_cart_finds_it_ordered(
    api: APIClient, carted_guest: Shopper
) -> None:
    # given the cart was checked out with one key
    assert guest_checkout(api, carted_guest, key="first").status_code == 201
    before = tables_snapshot()

    # when the shopper checks out again with another key
    answer = guest_checkout(api, carted_guest, key="second")

    # then it is refused: one cart, one order
    assert_problem(answer, cart_already_ordered("ACME-000001"))
    assert tables_snapshot() == before
    assert Order.objects.count() == 1


def test_a_new_cart_after_an_order_checks_out_as_a_new_order(
    api: APIClient, carted_guest: Shopper
) -> None:
    assert guest_checkout(api, carted_guest, key="first").status_code == 201
    lines_add(api, carted_guest, TEE=1)

    answer = guest_checkout(api, carted_guest, key="second")

    assert answer.status_code == 201, answer.content
    assert answer.json()["orderNumber"] == "ACME-000002"
    assert answer.json()["lines"] == [order_line("TEE", 1, "19.90")]


def test_lines_that_cannot_be_sold_are_400_naming_each_sku(
    api: APIClient, carted_guest: Shopper, products: dict[str, Product]
) -> None:
    # given, since the cart was filled: the MUG retired, the CAP down to 0 in stock, and the
    # TEE (at most 5 per order) in the cart 4 times, its maximum then lowered to 3
    lines_add(api, carted_guest, TEE=4)
    Product.objects.filter(sku="MUG").update(is_active=False)
    Product.objects.filter(sku="CAP").update(stock=0)
    Product.objects.filter(sku="TEE").update(max_quantity_per_order=3)
    before = tables_snapshot()

    # when the guest checks out
    answer = guest_checkout(api, carted_guest)

    # then nothing is ordered and every line at fault is named
    assert_problem(
        answer,
        lines_unavailable(
            ("MUG", "sku_inactive", "'MUG' is no longer for sale."),
            ("CAP", "quantity_above_stock", "Only 0 of 'CAP' in stock; the line holds 1."),
            (
                "TEE",
                "quantity_above_maximum",
                "At most 3 of 'TEE' per order; the line holds 4.",
            ),
        ),
    )
    assert tables_snapshot() == before


def test_a_guest_needs_an_e_mail(api: APIClient, carted_guest: Shopper) -> None:
    before = tables_snapshot()

    answer = checkout(api, carted_guest, {})

    message = "An e-mail address is required for a guest."
    assert_problem(
        answer,
        problem(
            "email_required",
            "E-mail required",
            400,
            message,
            5005,
            [{"field": "email", "code": "email_required", "message": message}],
        ),
    )
    assert tables_snapshot() == before


AMOUNT_INVALID = 'An amount as a string of digits, such as "43.00".'
# Not an amount as the API writes one: text, a sign, a third decimal, nothing, a JSON number, an
# exponent, NaN.
NOT_AMOUNTS: dict[str, Any] = {
    "text": "forty-three",
    "negative": "-1.00",
    "cents": "43.001",
    "empty": "",
    "number": 43.0,
    "exponent": "4.3e1",
    "nan": "NaN",
}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        pytest.param(
            {"email": "not-an-address"},
            ("email", "invalid", "Enter a valid email address."),
            id="email",
        ),
        *(
            pytest.param(
                {"email": GUEST_EMAIL, "expectedTotal": total},
                ("expectedTotal", "invalid", AMOUNT_INVALID),
                id=f"total-{name}",
            )
            for name, total in NOT_AMOUNTS.items()
        ),
        pytest.param(
            {"email": GUEST_EMAIL, "expected_total": "43.00"},
            ("expected_total", "unknown_field", "Not a field of a checkout."),
            id="misspelt-field",
        ),
    ],
)
def test_invalid_input_is_400_naming_the_field(
    api: APIClient, carted_guest: Shopper, body: dict[str, Any], error: tuple[str, str, str]
) -> None:
    before = tables_snapshot()

    answer = checkout(api, carted_guest, body)

    assert_problem(answer, validation_problem(error))
    assert tables_snapshot() == before


def test_a_body_that_is_no_object_is_400(api: APIClient, carted_guest: Shopper) -> None:
    before = tables_snapshot()

    answer = checkout(api, carted_guest, [GUEST_EMAIL])

    assert answer.status_code == 400
    assert answer.json()["code"] == 1000
    assert tables_snapshot() == before


# --- who may check out ------------------------------------------------------------------------


def test_without_credentials_it_is_401(api: APIClient, carted_guest: Shopper) -> None:
    before = tables_snapshot()

    answer = api.post(ORDERS_URL, {"email": GUEST_EMAIL}, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == 'Bearer realm="commerceapi"'
    assert tables_snapshot() == before


def test_the_storefront_key_alone_is_403(
    api: APIClient, storefront: Storefront, carted_guest: Shopper
) -> None:
    before = tables_snapshot()

    answer = api.post(
        ORDERS_URL,
        {"email": GUEST_EMAIL},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k",
        HTTP_X_AUTH_KEY=storefront.key,
    )

    assert answer.status_code == 403, answer.content
    assert answer.json()["code"] == 2040
    assert tables_snapshot() == before


def test_a_storefront_sending_its_key_with_the_bearer_checks_out_as_the_shopper(
    api: APIClient, storefront: Storefront, carted_customer: CustomerSession
) -> None:
    answer = checkout(api, carted_customer, HTTP_X_AUTH_KEY=storefront.key)

    assert answer.status_code == 201, answer.content
    assert answer.json()["customerId"] == carted_customer.customer_id


def test_a_client_token_is_403(api: APIClient, integration: Client, carted_guest: Shopper) -> None:
    raw_token = token_request(api, integration.basic(), grant_type="client_credentials").json()[
        "access_token"
    ]
    before = tables_snapshot()

    answer = api.post(
        ORDERS_URL,
        {"email": GUEST_EMAIL},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k",
        **bearer_headers(raw_token),
    )

    assert answer.status_code == 403, answer.content
    assert answer.json()["code"] == 2040
    assert tables_snapshot() == before


def test_a_guest_token_without_orders_write_is_403(
    api: APIClient, sales_channel: Client, products: dict[str, Product]
) -> None:
    # given a sales channel's guest token granted the cart but not checkout
    shopper = scoped_guest(api, sales_channel, "cart:read cart:write catalog:read orders:read")
    lines_add(api, shopper, MUG=1)
    before = tables_snapshot()

    answer = guest_checkout(api, shopper)

    assert answer.status_code == 403, answer.content
    assert answer.json()["type"] == "urn:commerceapi:problem:insufficient_scope"
    assert tables_snapshot() == before


# --- after commit -----------------------------------------------------------------------------


def test_a_checkout_logs_order_placed_and_calls_each_handler_after_commit(
    api: APIClient,
    carted_guest: Shopper,
    order_events: list[tuple[str, dict[str, Any]]],
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Any,
) -> None:
    caplog.set_level(logging.INFO, logger="orders")

    # when the guest checks out
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert guest_checkout(api, carted_guest).status_code == 201
        # then nothing is announced before the commit
        assert order_events == []
        assert not [r for r in caplog.records if r.getMessage().startswith("order.placed")]
    for callback in callbacks:
        callback()

    # and after it: one structured line and each handler, a failing one logged
    order = Order.objects.get()
    payload = {
        "tenant": order.tenant_id,
        "order": "ACME-000001",
        "order_id": str(order.public_id),
        "channel": "storefront",
        "customer": None,
        "anonymous_id": carted_guest.anonymous_id,
        "partner": None,
        "currency": "EUR",
        "total": "43.00",
        "item_count": 3,
        "lines": 2,
    }
    [record] = [r for r in caplog.records if r.getMessage().startswith("order.placed")]
    assert record.getMessage() == f"order.placed {json.dumps(payload, sort_keys=True)}"
    assert record.event == "order.placed"  # type: ignore[attr-defined]
    assert order_events == [("order.placed", payload)]
    failures = [r for r in caplog.records if r.getMessage().startswith("order event handler")]
    assert [r.getMessage() for r in failures] == [
        "order event handler tests.orders.order_fixtures.event_fail failed"
    ]
    assert GUEST_EMAIL not in caplog.text


def test_a_refused_checkout_announces_nothing(
    api: APIClient,
    carted_guest: Shopper,
    order_events: list[tuple[str, dict[str, Any]]],
    caplog: pytest.LogCaptureFixture,
    django_capture_on_commit_callbacks: Any,
) -> None:
    caplog.set_level(logging.INFO, logger="orders")
    Product.objects.filter(sku="CAP").update(stock=0)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert guest_checkout(api, carted_guest).status_code == 400

    assert callbacks == []
    assert order_events == []
    assert "order.placed" not in caplog.text
