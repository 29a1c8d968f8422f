"""Orders in the admin: listed, searched and filtered; a read-only page with lines and history;
"Mark fulfilled" and "Cancel (restock)" through the services, a refused move shown as a message;
never added or deleted."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from catalog.models import Product
from orders.models import Order, OrderStatusChange
from tests.carts.migration_fixtures import lines_add
from tests.conftest import Shopper, Storefront, tables_snapshot
from tests.identity.provider_fixtures import CustomerShopper
from tests.orders.order_fixtures import CUSTOMER_EMAIL, checkout, guest_checkout

pytestmark = pytest.mark.django_db

CHANGELIST_URL = reverse("admin:orders_order_changelist")


@pytest.fixture
def placed(
    api: APIClient,
    storefront: Storefront,
    carted_guest: Shopper,
    customer_shopper: CustomerShopper,
) -> dict[str, Order]:
    """The guest's ACME-000001 (2 MUG, 1 CAP) and Ada's ACME-000002 (1 TEE)."""
    assert guest_checkout(api, carted_guest).status_code == 201
    ada = customer_shopper("auth0|ada", email=CUSTOMER_EMAIL)
    lines_add(api, ada, TEE=1)
    assert checkout(api, ada).status_code == 201
    return {order.number: order for order in Order.objects.all()}


def listed(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.content
    return [order.number for order in answer.context["cl"].result_list]


def act(operator: Client, action: str, orders: list[Order]) -> tuple[Any, list[str]]:
    answer = operator.post(
        CHANGELIST_URL,
        {"action": action, "_selected_action": [order.pk for order in orders]},
        follow=True,
    )
    return answer, [str(message) for message in get_messages(answer.wsgi_request)]


def test_the_list_shows_every_order_newest_first(
    operator: Client, placed: dict[str, Order]
) -> None:
    answer = operator.get(CHANGELIST_URL)

    assert listed(answer) == ["ACME-000002", "ACME-000001"]
    page = answer.content.decode()
    assert "guest@example.com" in page
    assert CUSTOMER_EMAIL in page


@pytest.mark.parametrize(
    ("query", "numbers"),
    [
        ({"q": "ACME-000001"}, ["ACME-000001"]),
        ({"q": "guest@example"}, ["ACME-000001"]),
        ({"status__exact": "placed"}, ["ACME-000002", "ACME-000001"]),
        ({"status__exact": "cancelled"}, []),
        ({"payment_status__exact": "pending"}, ["ACME-000002", "ACME-000001"]),
        ({"payment_status__exact": "captured"}, []),
    ],
    ids=["number", "e-mail", "status", "no such status", "payment status", "none captured"],
)
def test_the_list_is_searched_and_filtered(
    operator: Client, placed: dict[str, Order], query: dict[str, str], numbers: list[str]
) -> None:
    assert listed(operator.get(CHANGELIST_URL, query)) == numbers


def test_the_list_is_searched_by_customer_and_filtered_by_date(
    operator: Client, placed: dict[str, Order]
) -> None:
    ada_order = placed["ACME-000002"]
    day = ada_order.placed_at

    assert listed(operator.get(CHANGELIST_URL, {"q": str(ada_order.customer_id)})) == [
        "ACME-000002"
    ]
    by_day = {"placed_at__year": day.year, "placed_at__month": day.month, "placed_at__day": day.day}
    assert listed(operator.get(CHANGELIST_URL, by_day)) == ["ACME-000002", "ACME-000001"]
    assert listed(operator.get(CHANGELIST_URL, {"placed_at__year": day.year - 1})) == []


def test_the_page_shows_lines_and_history_read_only(
    operator: Client, placed: dict[str, Order]
) -> None:
    order = placed["ACME-000001"]

    answer = operator.get(reverse("admin:orders_order_change", args=[order.pk]))

    assert answer.status_code == 200
    page = answer.content.decode()
    for text in ("ACME-000001", "Product MUG", "Product CAP", "9.50", "24.00", "Status history"):
        assert text in page, text
    assert "guest:" in page  # the placement in the history, with its actor
    assert 'name="_save"' not in page
    assert 'name="email"' not in page


def test_mark_fulfilled_moves_the_selected_orders(
    operator: Client, placed: dict[str, Order]
) -> None:
    answer, messages = act(operator, "mark_fulfilled", list(placed.values()))

    assert answer.status_code == 200
    assert messages == ["Marked fulfilled: ACME-000001, ACME-000002."]
    assert set(Order.objects.values_list("status", flat=True)) == {"fulfilled"}
    assert set(
        OrderStatusChange.objects.filter(to_value="fulfilled").values_list("actor", flat=True)
    ) == {"operator:operator"}


def test_cancel_restocks_and_a_refused_move_is_a_message(
    operator: Client, placed: dict[str, Order]
) -> None:
    # given ACME-000002 was fulfilled already
    act(operator, "mark_fulfilled", [placed["ACME-000002"]])
    assert Product.objects.get(sku="CAP").stock == 2

    # when the operator cancels both
    answer, messages = act(operator, "cancel_and_restock", list(placed.values()))

    # then ACME-000001 is cancelled and restocked; ACME-000002's refusal is shown, not a 500
    assert answer.status_code == 200
    assert messages == [
        "ACME-000002: The order's status cannot go from fulfilled to cancelled (from fulfilled: "
        "none, it is final). Nothing was changed.",
        "Cancelled and restocked: ACME-000001.",
    ]
    assert Order.objects.get(number="ACME-000001").status == "cancelled"
    assert Order.objects.get(number="ACME-000002").status == "fulfilled"
    assert Product.objects.get(sku="CAP").stock == 3


def test_orders_are_never_added_edited_or_deleted_here(
    operator: Client, placed: dict[str, Order]
) -> None:
    order = placed["ACME-000001"]
    before = tables_snapshot()

    assert operator.get(reverse("admin:orders_order_add")).status_code == 403
    assert operator.post(reverse("admin:orders_order_delete", args=[order.pk])).status_code == 403
    assert (
        operator.post(
            reverse("admin:orders_order_change", args=[order.pk]),
            {"email": "changed@example.com", "status": "cancelled"},
        ).status_code
        == 403
    )
    act(operator, "delete_selected", [order])
    assert tables_snapshot() == before
    assert "delete_selected" not in operator.get(CHANGELIST_URL).content.decode()


def test_a_viewer_without_the_change_permission_has_no_actions(
    client: Client, django_user_model: Any, placed: dict[str, Order]
) -> None:
    # given a staff member who may only view orders
    viewer = django_user_model.objects.create_user(username="viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(viewer)

    answer = client.get(CHANGELIST_URL)

    assert answer.status_code == 200
    assert "mark_fulfilled" not in answer.content.decode()
    act(client, "mark_fulfilled", list(placed.values()))
    assert set(Order.objects.values_list("status", flat=True)) == {"placed"}
