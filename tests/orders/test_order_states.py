"""The order's state machines (orders/states.py) through ``order_transition``: every allowed move
works and is recorded, every other one is a 409 that changes nothing; cancelling restocks each
line once."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog.models import Product
from core.errors import DomainError
from orders.models import Order, OrderLine, OrderStatus, OrderStatusChange, PaymentStatus
from orders.services import order_transition
from orders.states import (
    PAYMENT_MACHINE,
    STATUS_MACHINE,
    PaymentEventKind,
    payment_status_for_event,
)
from tests.conftest import Shopper, tables_snapshot
from tests.orders.order_fixtures import guest_checkout

pytestmark = pytest.mark.django_db

STATUS_MOVES = {("placed", "fulfilled"), ("placed", "cancelled")}
PAYMENT_MOVES = {
    ("pending", "authorized"),
    ("pending", "failed"),
    ("authorized", "captured"),
    ("authorized", "voided"),
    ("captured", "partially_refunded"),
    ("captured", "refunded"),
    ("partially_refunded", "partially_refunded"),
    ("partially_refunded", "refunded"),
    ("failed", "authorized"),
    ("failed", "failed"),
}
ACTOR = "operator:ops"


@pytest.fixture
def order(api: APIClient, carted_guest: Shopper) -> Order:
    """A placed guest order of 2 MUG (unlimited stock) and 1 CAP (stock 3, now 2)."""
    assert guest_checkout(api, carted_guest).status_code == 201
    return Order.objects.get()


def test_the_tables_are_the_documented_machines() -> None:
    status_moves = {(a, b) for a, targets in STATUS_MACHINE.moves.items() for b in targets}
    payment_moves = {(a, b) for a, targets in PAYMENT_MACHINE.moves.items() for b in targets}
    assert status_moves == STATUS_MOVES
    assert payment_moves == PAYMENT_MOVES
    assert set(STATUS_MACHINE.moves) == set(OrderStatus.values)
    assert set(PAYMENT_MACHINE.moves) == set(PaymentStatus.values)


def pairs(states: type[OrderStatus] | type[PaymentStatus]) -> list[tuple[Any, Any]]:
    return [(current, target) for current in states for target in states]


@pytest.mark.parametrize(("current", "target"), pairs(OrderStatus) + pairs(PaymentStatus), ids=str)
def test_a_move_is_made_exactly_when_the_machine_allows_it(
    order: Order, current: Any, target: Any
) -> None:
    # given the order in state ``current`` (its history as it stands)
    field = "status" if isinstance(target, OrderStatus) else "payment_status"
    Order.objects.filter(pk=order.pk).update(**{field: current})
    allowed = (current.value, target.value) in STATUS_MOVES | PAYMENT_MOVES
    before = tables_snapshot()

    # when the move is asked for
    if allowed:
        moved = order_transition(order_id=order.pk, target=target, actor=ACTOR, note="why")

        # then it is made and appended to the history
        assert getattr(moved, field) == target
        assert getattr(Order.objects.get(pk=order.pk), field) == target
        last = OrderStatusChange.objects.order_by("pk").last()
        assert last is not None
        assert (last.field, last.from_value, last.to_value, last.actor, last.note) == (
            field,
            current.value,
            target.value,
            ACTOR,
            "why",
        )
    else:
        with pytest.raises(DomainError) as refused:
            order_transition(order_id=order.pk, target=target, actor=ACTOR)

        # then it is a 409 naming the move, and nothing changed
        assert refused.value.code.number == 5007
        assert refused.value.code.status == 409
        assert f"from {current.value} to {target.value}" in refused.value.detail
        assert tables_snapshot() == before


def test_cancelling_restocks_each_line_once(order: Order) -> None:
    assert Product.objects.get(sku="CAP").stock == 2

    # when the order is cancelled
    order_transition(order_id=order.pk, target=OrderStatus.CANCELLED, actor=ACTOR)

    # then the limited product gets its unit back, the unlimited one stays unlimited
    assert Product.objects.get(sku="CAP").stock == 3
    assert Product.objects.get(sku="MUG").stock is None
    assert not OrderLine.objects.filter(restocked_at__isnull=True).exists()

    # and a second cancellation is refused without restocking again
    before = tables_snapshot()
    with pytest.raises(DomainError) as refused:
        order_transition(order_id=order.pk, target=OrderStatus.CANCELLED, actor=ACTOR)
    assert refused.value.detail == (
        "The order's status cannot go from cancelled to cancelled (from cancelled: none, it is "
        "final). Nothing was changed."
    )
    assert tables_snapshot() == before


def test_a_line_already_restocked_is_not_restocked_again(order: Order) -> None:
    # given the CAP line was put back to stock already (a partial restock of an earlier tool)
    cap_line = OrderLine.objects.get(sku="CAP")
    OrderLine.objects.filter(pk=cap_line.pk).update(restocked_at=order.placed_at)

    order_transition(order_id=order.pk, target=OrderStatus.CANCELLED, actor=ACTOR)

    assert Product.objects.get(sku="CAP").stock == 2


def test_a_fulfilled_order_cannot_be_cancelled(order: Order) -> None:
    order_transition(order_id=order.pk, target=OrderStatus.FULFILLED, actor=ACTOR)
    before = tables_snapshot()

    with pytest.raises(DomainError) as refused:
        order_transition(order_id=order.pk, target=OrderStatus.CANCELLED, actor=ACTOR)

    assert refused.value.code.slug == "order_transition_refused"
    assert tables_snapshot() == before


def test_the_payment_status_moves_independently_of_the_status(order: Order) -> None:
    order_transition(order_id=order.pk, target=OrderStatus.CANCELLED, actor=ACTOR)

    order_transition(order_id=order.pk, target=PaymentStatus.AUTHORIZED, actor="payment:psp")
    order_transition(order_id=order.pk, target=PaymentStatus.VOIDED, actor="payment:psp")

    stored = Order.objects.get(pk=order.pk)
    assert (stored.status, stored.payment_status) == ("cancelled", "voided")
    assert list(OrderStatusChange.objects.values_list("field", "from_value", "to_value")) == [
        ("status", "", "placed"),
        ("status", "placed", "cancelled"),
        ("payment_status", "pending", "authorized"),
        ("payment_status", "authorized", "voided"),
    ]


@pytest.mark.parametrize(
    ("kind", "fully_refunded", "status"),
    [
        (PaymentEventKind.AUTHORIZED, False, PaymentStatus.AUTHORIZED),
        (PaymentEventKind.CAPTURED, False, PaymentStatus.CAPTURED),
        (PaymentEventKind.REFUNDED, False, PaymentStatus.PARTIALLY_REFUNDED),
        (PaymentEventKind.REFUNDED, True, PaymentStatus.REFUNDED),
        (PaymentEventKind.VOIDED, False, PaymentStatus.VOIDED),
        (PaymentEventKind.FAILED, False, PaymentStatus.FAILED),
    ],
)
def test_each_payment_event_has_its_payment_status(
    kind: PaymentEventKind, fully_refunded: bool, status: PaymentStatus
) -> None:
    assert payment_status_for_event(kind, fully_refunded=fully_refunded) is status


def test_a_transition_announces_itself_after_commit(
    order: Order,
    order_events: list[tuple[str, dict[str, Any]]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        order_transition(order_id=order.pk, target=OrderStatus.FULFILLED, actor=ACTOR)

    assert order_events == [
        (
            "order.status_changed",
            {
                "tenant": order.tenant_id,
                "order": "ACME-000001",
                "field": "status",
                "from": "placed",
                "to": "fulfilled",
                "actor": ACTOR,
            },
        )
    ]
