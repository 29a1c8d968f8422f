"""Reads of orders. A shopper reads only their own: a customer's orders by customer id, a
guest's by the anonymous id of the session it ordered in (and only while no customer owns the
order)."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from orders.models import Order, OrderLine, PaymentEvent


def _shopper_filter(*, tenant_id: int, customer_id: str | None, anonymous_id: str | None) -> Q:
    if customer_id is not None:
        return Q(tenant_id=tenant_id, customer_id=customer_id)
    if anonymous_id is None:
        raise ValueError("a shopper is a customer id or an anonymous id")
    return Q(tenant_id=tenant_id, anonymous_id=anonymous_id, customer_id__isnull=True)


def _with_lines(orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders.prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("pk")))


def order_list_for_shopper(
    *, tenant_id: int, customer_id: str | None = None, anonymous_id: str | None = None
) -> QuerySet[Order]:
    """The shopper's orders, newest first, with their lines."""
    orders = Order.objects.filter(
        _shopper_filter(tenant_id=tenant_id, customer_id=customer_id, anonymous_id=anonymous_id)
    )
    return _with_lines(orders.order_by("-placed_at", "-pk"))


def order_get_for_shopper(
    *,
    tenant_id: int,
    number: str,
    customer_id: str | None = None,
    anonymous_id: str | None = None,
) -> Order | None:
    """The shopper's order with this number (in any letter case), with its lines; None for an
    order of anyone else, as for no order at all."""
    orders = Order.objects.filter(
        _shopper_filter(tenant_id=tenant_id, customer_id=customer_id, anonymous_id=anonymous_id),
        number=number.upper(),
    )
    return _with_lines(orders).first()


def order_get_for_payment(*, tenant_id: int, number: str) -> Order | None:
    """Any order of the tenant, with its payment events (a payment provider's view)."""
    return (
        Order.objects.filter(tenant_id=tenant_id, number=number)
        .prefetch_related(Prefetch("payment_events", queryset=PaymentEvent.objects.order_by("pk")))
        .first()
    )
