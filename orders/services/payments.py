"""Payment events: what a payment provider reports about an order, applied one at a time.

``payment_event_apply`` records an event and moves the order's payment status by the rules of
``orders.states``, under the order's row lock, so parallel events for one order are serialized
and each is judged against the events before it:

- amounts are in the order's currency (another is a 400, 5100);
- the captures never add up to more than the authorizations (409, 5101), the refunds never to
  more than the captures (409, 5102);
- a capture that brings the captured amount to the order's total makes the order paid
  (``captured``); a smaller one is recorded and the status stays ``authorized`` until the
  captures add up;
- a refund is partial until the refunds add up to the captured amount;
- a move the state machine does not allow is a 409 (5007);
- the provider's retry of an event (the same kind and ``pspReference``) is answered with the
  order as it is, ``already_processed``, and nothing is recorded twice.

A refused event records nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum

from core.errors import DomainError
from orders import errors
from orders.models import Order, PaymentEvent, PaymentStatus
from orders.services.transitions import order_qs_select_for_update, order_transition_locked
from orders.states import PAYMENT_MACHINE, PaymentEventKind, payment_status_for_event


@dataclass(frozen=True)
class PaymentTotals:
    authorized: Decimal
    captured: Decimal
    refunded: Decimal


@dataclass(frozen=True)
class PaymentEventApplied:
    order: Order
    event: PaymentEvent
    already_processed: bool


def payment_totals(*, order_id: int) -> PaymentTotals:
    sums = {
        kind: total
        for kind, total in PaymentEvent.objects.filter(order_id=order_id)
        .values_list("kind")
        .annotate(total=Sum("amount"))
        .values_list("kind", "total")
    }
    zero = Decimal("0.00")
    return PaymentTotals(
        authorized=sums.get(PaymentEventKind.AUTHORIZED, zero),
        captured=sums.get(PaymentEventKind.CAPTURED, zero),
        refunded=sums.get(PaymentEventKind.REFUNDED, zero),
    )


def _target(
    *, order: Order, kind: PaymentEventKind, amount: Decimal, totals: PaymentTotals
) -> PaymentStatus | None:
    """The payment status the event moves to; None: it is recorded without a move (a partial
    capture). Raises for amounts the events before it do not allow."""
    if kind is PaymentEventKind.CAPTURED:
        captured = totals.captured + amount
        if captured > totals.authorized:
            raise DomainError(
                errors.CAPTURE_EXCEEDS_AUTHORIZED,
                f"Captured {captured:.2f} would exceed the authorized {totals.authorized:.2f}. "
                "Nothing was recorded.",
            )
        if captured < order.total:
            # Recorded as part of a capture to come; the machine must still allow a capture.
            PAYMENT_MACHINE.check(current=order.payment_status, target=PaymentStatus.CAPTURED)
            return None
    if kind is PaymentEventKind.REFUNDED:
        refunded = totals.refunded + amount
        if refunded > totals.captured:
            raise DomainError(
                errors.REFUND_EXCEEDS_CAPTURED,
                f"Refunded {refunded:.2f} would exceed the captured {totals.captured:.2f}. "
                "Nothing was recorded.",
            )
        return payment_status_for_event(kind, fully_refunded=refunded == totals.captured)
    return payment_status_for_event(kind, fully_refunded=False)


def payment_event_apply(
    *,
    tenant_id: int,
    order_number: str,
    kind: PaymentEventKind,
    amount: Decimal,
    currency: str,
    psp_reference: str,
    occurred_at: datetime,
    actor: str,
) -> PaymentEventApplied:
    """Record one payment event of the tenant's order ``order_number`` and move its payment
    status (see the module's rules). 404 (5103) for no such order of the tenant."""
    with transaction.atomic():
        order = (
            order_qs_select_for_update().filter(tenant_id=tenant_id, number=order_number).first()
        )
        if order is None:
            raise DomainError(errors.PAYMENT_ORDER_NOT_FOUND)
        if currency != order.currency:
            raise DomainError.for_field(
                errors.PAYMENT_CURRENCY_MISMATCH,
                "currency",
                f"The order is in {order.currency}.",
            )
        earlier = PaymentEvent.objects.filter(
            order=order, kind=kind, psp_reference=psp_reference
        ).first()
        if earlier is not None:
            return PaymentEventApplied(order=order, event=earlier, already_processed=True)
        target = _target(
            order=order, kind=kind, amount=amount, totals=payment_totals(order_id=order.pk)
        )
        try:
            with transaction.atomic():
                event = PaymentEvent.objects.create(
                    order=order,
                    kind=kind,
                    amount=amount,
                    currency=currency,
                    psp_reference=psp_reference,
                    occurred_at=occurred_at,
                    actor=actor,
                )
        except IntegrityError:  # pragma: no cover - the row lock serializes the order's events
            event = PaymentEvent.objects.get(order=order, kind=kind, psp_reference=psp_reference)
            return PaymentEventApplied(order=order, event=event, already_processed=True)
        if target is not None:
            order_transition_locked(
                order=order,
                target=target,
                actor=actor,
                note=f"{kind} {amount} {currency} ({psp_reference})",
            )
    return PaymentEventApplied(order=order, event=event, already_processed=False)
