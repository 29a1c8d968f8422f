"""Moving orders through their states, by the rules of ``orders.states``: under the order's row
lock, appended to the history, announced after commit. Cancelling restocks each line once."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, IntegerField, QuerySet, Value, When
from django.utils import timezone

from catalog.models import Product
from catalog.services import product_qs_select_for_update
from core.events import event_emit
from orders.models import Order, OrderLine, OrderStatus, OrderStatusChange
from orders.states import Target, machine_for

logger = logging.getLogger("orders")


def order_qs_select_for_update() -> QuerySet[Order]:
    """The one way to lock orders: row locks taken in primary-key order."""
    return Order.objects.select_for_update().order_by("pk")


def order_transition(*, order_id: int, target: Target, actor: str, note: str = "") -> Order:
    """Move the order's status or payment status (by ``target``'s kind) to ``target``, by the
    rules of ``orders.states``: 409 (5007) and nothing changed for a move they do not allow.
    Cancelling puts each line back to stock, once."""
    with transaction.atomic():
        order = order_qs_select_for_update().get(pk=order_id)
        order_transition_locked(order=order, target=target, actor=actor, note=note)
    return order


def order_transition_locked(*, order: Order, target: Target, actor: str, note: str = "") -> None:
    """``order_transition`` for an order the caller's transaction holds locked (a payment event
    records itself and moves the payment status in one transaction)."""
    machine = machine_for(target)
    current = getattr(order, machine.field.value)
    machine.check(current=current, target=target)
    now = timezone.now()
    if target is OrderStatus.CANCELLED:
        _restock(order, now=now)
    Order.objects.filter(pk=order.pk).update(**{machine.field.value: target}, updated_at=now)
    setattr(order, machine.field.value, target.value)
    order.updated_at = now
    OrderStatusChange.objects.create(
        order=order,
        field=machine.field,
        from_value=current,
        to_value=target,
        actor=actor,
        note=note,
        at=now,
    )
    payload = {
        "tenant": order.tenant_id,
        "order": order.number,
        "field": machine.field.value,
        "from": current,
        "to": target.value,
        "actor": actor,
    }
    transaction.on_commit(
        lambda: event_emit(
            event="order.status_changed",
            payload=payload,
            handlers=settings.ORDER_EVENT_HANDLERS,
            logger=logger,
        )
    )


def _restock(order: Order, *, now: datetime) -> None:
    """Every line not restocked yet goes back to its product's stock (unlimited stock stays
    unlimited), and is marked so that it never goes back twice."""
    lines = list(
        OrderLine.objects.filter(order=order, restocked_at__isnull=True).values_list(
            "pk", "product_id", "quantity"
        )
    )
    if not lines:
        return
    products = list(
        product_qs_select_for_update().filter(
            pk__in=[product_id for _, product_id, _ in lines], stock__isnull=False
        )
    )
    quantities = {product_id: quantity for _, product_id, quantity in lines}
    limited = [(product, quantities[product.pk]) for product in products]
    if limited:
        Product.objects.filter(pk__in=[product.pk for product, _ in limited]).update(
            stock=F("stock") + _per_product(limited), updated_at=now
        )
    OrderLine.objects.filter(pk__in=[pk for pk, _, _ in lines]).update(restocked_at=now)


def _per_product(quantities: list[tuple[Product, int]]) -> Case:
    return Case(
        *[When(pk=product.pk, then=Value(quantity)) for product, quantity in quantities],
        output_field=IntegerField(),
    )
