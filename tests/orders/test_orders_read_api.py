"""GET /commerceapi/orders and /commerceapi/orders/{orderNumber}: a shopper reads only their own
orders (a guest with the session it ordered in); anyone else's is a 404, as is a guess."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog.models import Product
from orders.models import Order
from tests.carts.migration_fixtures import lines_add, migrate, proof_of
from tests.conftest import (
    Shopper,
    Storefront,
    anonymous_shopper,
    anonymous_shopper_from,
    assert_problem,
    bearer_headers,
    make_storefront,
    problem,
    tables_snapshot,
)
from tests.factories import ProductFactory, TenantFactory
from tests.identity.oauth_helpers import Client
from tests.identity.provider_fixtures import CustomerSession, CustomerShopper
from tests.orders.order_fixtures import (
    CUSTOMER_EMAIL,
    MUG_AND_CAP,
    ORDER_NOT_FOUND,
    ORDERS_URL,
    checkout,
    guest_checkout,
    order_answer,
    order_line,
    scoped_guest,
)

pytestmark = pytest.mark.django_db


def place_orders(api: APIClient, shopper: CustomerSession, count: int) -> list[str]:
    """``count`` checkouts of one MUG each by the customer; their numbers, oldest first."""
    numbers = []
    for index in range(count):
        lines_add(api, shopper, MUG=1)
        answer = checkout(api, shopper, key=f"order-{index}")
        assert answer.status_code == 201, answer.content
        numbers.append(answer.json()["orderNumber"])
    return numbers


def test_a_customer_reads_an_order_of_theirs(
    api: APIClient, carted_customer: CustomerSession
) -> None:
    assert checkout(api, carted_customer).status_code == 201

    answer = api.get(f"{ORDERS_URL}/ACME-000001", **carted_customer.headers())

    assert answer.status_code == 200
    assert answer.json() == order_answer(
        "ACME-000001",
        MUG_AND_CAP,
        email=CUSTOMER_EMAIL,
        customer_id=carted_customer.customer_id,
    )


def test_the_order_number_is_found_in_any_letter_case(
    api: APIClient, carted_customer: CustomerSession
) -> None:
    assert checkout(api, carted_customer).status_code == 201

    answer = api.get(f"{ORDERS_URL}/acme-000001", **carted_customer.headers())

    assert answer.status_code == 200
    assert answer.json()["orderNumber"] == "ACME-000001"


def test_the_customers_orders_are_listed_newest_first(
    api: APIClient, customer_shopper: CustomerShopper, products: dict[str, Product]
) -> None:
    # given three orders of the customer, placed a day apart
    ada = customer_shopper("auth0|ada", email=CUSTOMER_EMAIL)
    numbers = place_orders(api, ada, 3)
    for days, number in enumerate(reversed(numbers)):
        order = Order.objects.get(number=number)
        Order.objects.filter(pk=order.pk).update(placed_at=order.placed_at - timedelta(days=days))

    # when the customer lists them
    answer = api.get(ORDERS_URL, **ada.headers())

    # then the newest comes first, each the whole order
    assert answer.status_code == 200
    assert answer.json() == {
        "count": 3,
        "next": None,
        "previous": None,
        "results": [
            order_answer(
                number,
                [order_line("MUG", 1, "9.50")],
                email=CUSTOMER_EMAIL,
                customer_id=ada.customer_id,
            )
            for number in reversed(numbers)
        ],
    }


def test_the_list_is_paginated(
    api: APIClient, customer_shopper: CustomerShopper, products: dict[str, Product]
) -> None:
    ada = customer_shopper("auth0|ada", email=CUSTOMER_EMAIL)
    numbers = place_orders(api, ada, 3)

    first = api.get(ORDERS_URL, {"pageSize": 2}, **ada.headers()).json()
    second = api.get(ORDERS_URL, {"pageSize": 2, "page": 2}, **ada.headers()).json()

    assert first["count"] == second["count"] == 3
    assert [order["orderNumber"] for order in first["results"]] == numbers[:0:-1]
    assert first["next"] == "http://testserver/commerceapi/orders?page=2&pageSize=2"
    assert [order["orderNumber"] for order in second["results"]] == [numbers[0]]
    assert second["next"] is None


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"pageSize": 101}, "pageSize", "A whole number from 1 to 100."),
        ({"pageSize": "abc"}, "pageSize", "A whole number from 1 to 100."),
        ({"page": 0}, "page", 'A whole number from 1 to 999999999, or "last".'),
    ],
    ids=["size above 100", "size not a number", "page 0"],
)
def test_a_page_or_size_out_of_range_is_400_naming_it(
    api: APIClient,
    carted_customer: CustomerSession,
    query: dict[str, Any],
    field: str,
    message: str,
) -> None:
    answer = api.get(ORDERS_URL, query, **carted_customer.headers())

    assert_problem(
        answer,
        problem(
            "query_parameter_invalid",
            "Invalid query parameter",
            400,
            message,
            1043,
            [{"field": field, "code": "query_parameter_invalid", "message": message}],
        ),
    )


def test_a_page_past_the_end_is_404(api: APIClient, carted_customer: CustomerSession) -> None:
    answer = api.get(ORDERS_URL, {"page": 2}, **carted_customer.headers())

    assert answer.status_code == 404
    assert answer.json()["code"] == 1004


def test_a_customer_without_orders_lists_none(
    api: APIClient, carted_customer: CustomerSession
) -> None:
    answer = api.get(ORDERS_URL, **carted_customer.headers())

    assert answer.json() == {"count": 0, "next": None, "previous": None, "results": []}


# --- guests ---------------------------------------------------------------------------------------


def test_a_guest_reads_its_order_with_the_session_it_ordered_in(
    api: APIClient, storefront: Storefront, carted_guest: Shopper
) -> None:
    # given a guest's order
    placed = guest_checkout(api, carted_guest).json()

    # when the guest reads it with its token, and with a renewed token of the same session
    renewed = api.post(
        "/commerceapi/authentication/",
        {"anonymousAuthenticationRequest": carted_guest.anonymous_id},
        format="json",
        HTTP_X_AUTH_KEY=storefront.key,
        **bearer_headers(carted_guest.token),
    ).json()
    assert renewed["anonymousId"] == carted_guest.anonymous_id
    same_session = anonymous_shopper_from(api, renewed["accessToken"], renewed["anonymousId"])

    # then both see it, and list it
    for shopper in (carted_guest, same_session):
        answer = api.get(f"{ORDERS_URL}/ACME-000001", **shopper.headers())
        assert answer.status_code == 200
        assert answer.json() == placed
        assert api.get(ORDERS_URL, **shopper.headers()).json()["results"] == [placed]


def test_a_guest_order_ends_with_the_guests_session(
    api: APIClient,
    carted_guest: Shopper,
    customer_shopper: CustomerShopper,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a guest's order, then the guest signs in and migrates its (new, empty) session
    assert guest_checkout(api, carted_guest).status_code == 201
    ada = customer_shopper("auth0|ada", email=CUSTOMER_EMAIL)
    with django_capture_on_commit_callbacks(execute=True):
        assert migrate(api, ada, proof_of(carted_guest)).status_code == 200

    # then the guest's token no longer works, and the customer does not see the guest order
    assert api.get(f"{ORDERS_URL}/ACME-000001", **carted_guest.headers()).status_code == 401
    assert_problem(api.get(f"{ORDERS_URL}/ACME-000001", **ada.headers()), ORDER_NOT_FOUND)


# --- anyone else's -----------------------------------------------------------------------------


@pytest.fixture
def orders_of_others(
    api: APIClient, storefront: Storefront, carted_guest: Shopper, customer_shopper: CustomerShopper
) -> dict[str, Any]:
    """A guest's order ACME-000001 and a customer's ACME-000002."""
    assert guest_checkout(api, carted_guest).status_code == 201
    ada = customer_shopper("auth0|ada", email=CUSTOMER_EMAIL)
    lines_add(api, ada, MUG=1)
    assert checkout(api, ada).status_code == 201
    return {"guest": carted_guest, "ada": ada}


@pytest.mark.parametrize("number", ["ACME-000001", "ACME-000002", "ACME-000003", "ACME-0"])
def test_another_guest_gets_404_for_any_order(
    api: APIClient, storefront: Storefront, orders_of_others: dict[str, Any], number: str
) -> None:
    stranger = anonymous_shopper(api, storefront.key)
    before = tables_snapshot()

    answer = api.get(f"{ORDERS_URL}/{number}", **stranger.headers())

    assert_problem(answer, ORDER_NOT_FOUND)
    assert api.get(ORDERS_URL, **stranger.headers()).json()["count"] == 0
    assert tables_snapshot() == before


def test_another_customer_gets_404_for_the_guests_and_the_customers_order(
    api: APIClient, orders_of_others: dict[str, Any], customer_shopper: CustomerShopper
) -> None:
    bob = customer_shopper("auth0|bob", email="bob@example.com")
    before = tables_snapshot()

    for number in ("ACME-000001", "ACME-000002"):
        assert_problem(api.get(f"{ORDERS_URL}/{number}", **bob.headers()), ORDER_NOT_FOUND)
    assert api.get(ORDERS_URL, **bob.headers()).json()["count"] == 0
    assert tables_snapshot() == before


def test_the_customer_does_not_see_the_guests_order_nor_the_guest_the_customers(
    api: APIClient, orders_of_others: dict[str, Any]
) -> None:
    guest, ada = orders_of_others["guest"], orders_of_others["ada"]

    assert_problem(api.get(f"{ORDERS_URL}/ACME-000001", **ada.headers()), ORDER_NOT_FOUND)
    assert_problem(api.get(f"{ORDERS_URL}/ACME-000002", **guest.headers()), ORDER_NOT_FOUND)
    assert [o["orderNumber"] for o in api.get(ORDERS_URL, **ada.headers()).json()["results"]] == [
        "ACME-000002"
    ]


def test_a_shopper_of_another_tenant_gets_404_for_the_same_number(
    api: APIClient, orders_of_others: dict[str, Any]
) -> None:
    # given globex has an order numbered like acme's, of its own shopper
    globex = make_storefront(tenant=TenantFactory(slug="globex"))
    ProductFactory(tenant=globex.tenant, sku="MUG")
    globex_guest = anonymous_shopper(api, globex.key)
    lines_add(api, globex_guest, MUG=1)
    assert guest_checkout(api, globex_guest).json()["orderNumber"] == "GLOBEX-000001"

    # then the globex shopper reads only its own
    for number in ("ACME-000001", "ACME-000002"):
        assert_problem(api.get(f"{ORDERS_URL}/{number}", **globex_guest.headers()), ORDER_NOT_FOUND)
    assert api.get(f"{ORDERS_URL}/GLOBEX-000001", **globex_guest.headers()).status_code == 200
    assert_problem(
        api.get(f"{ORDERS_URL}/GLOBEX-000001", **orders_of_others["guest"].headers()),
        ORDER_NOT_FOUND,
    )


def test_the_storefront_key_alone_reads_no_order(
    api: APIClient, storefront: Storefront, orders_of_others: dict[str, Any]
) -> None:
    for url in (ORDERS_URL, f"{ORDERS_URL}/ACME-000001"):
        answer = api.get(url, HTTP_X_AUTH_KEY=storefront.key)
        assert answer.status_code == 403
        assert answer.json()["code"] == 2040


def test_reading_needs_orders_read(
    api: APIClient, sales_channel: Client, products: dict[str, Product]
) -> None:
    # given a guest token that may check out but not read orders, with an order of its own
    shopper = scoped_guest(api, sales_channel, "cart:read cart:write catalog:read orders:write")
    lines_add(api, shopper, MUG=1)
    assert guest_checkout(api, shopper).status_code == 201

    # then it reads neither the list nor the order
    for url in (ORDERS_URL, f"{ORDERS_URL}/ACME-000001"):
        answer = api.get(url, **shopper.headers())
        assert answer.status_code == 403
        assert answer.json()["type"] == "urn:commerceapi:problem:insufficient_scope"
