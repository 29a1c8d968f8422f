"""The order's two state machines, ``status`` and ``payment_status``: every allowed move, here
and nowhere else.

``status``, what operations do with the goods::

    placed ──► fulfilled      ops mark it fulfilled (shipped, collected)
    placed ──► cancelled      ops cancel it: each line goes back to stock, once
    fulfilled, cancelled      final

``payment_status``, what the payment provider reports (one event at a time)::

    pending ──► authorized ──► captured ──► partially_refunded ──► refunded
       │            │              │               └──► partially_refunded (a further refund)
       │            │              └──► refunded
       │            └──► voided
       └──► failed ──► authorized    (the shopper pays again after a decline)
                └────► failed        (declined again)
    refunded, voided          final

Rules:

- Only the moves above are allowed. Anything else, including staying where it is (marking a
  fulfilled order fulfilled again, voiding a captured payment), is refused with 409
  ``order_transition_refused`` (5007) and changes nothing. The two self-moves listed are steps
  of their own (one more refund, one more decline), not repeats.
- The machines are independent of each other: cancelling does not refund (the provider reports
  the refund), fulfilment does not wait for a capture (invoices, cash on delivery).
- A move is made under the order's row lock (``orders.services.order_transition``) and appended
  to the order's history with who made it.
- A payment event of a kind (``PaymentEventKind``) moves the payment status to
  ``payment_status_for_event``; a refund is partial until the refunded amount reaches the
  captured one. Amounts are in the order's currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from core.errors import DomainError
from orders import errors
from orders.models import OrderField, OrderStatus, PaymentStatus

Target = OrderStatus | PaymentStatus


@dataclass(frozen=True)
class StateMachine:
    field: OrderField
    moves: Mapping[str, frozenset[str]]

    def check(self, *, current: str, target: str) -> None:
        """Raise 409 (5007) unless ``current`` → ``target`` is one of the machine's moves."""
        if target not in self.moves.get(current, frozenset()):
            allowed = ", ".join(sorted(self.moves.get(current, frozenset()))) or "none, it is final"
            raise DomainError(
                errors.ORDER_TRANSITION_REFUSED,
                f"The order's {self.field.label.lower()} cannot go from {current} to {target} "
                f"(from {current}: {allowed}). Nothing was changed.",
            )


STATUS_MACHINE = StateMachine(
    field=OrderField.STATUS,
    moves={
        OrderStatus.PLACED: frozenset({OrderStatus.FULFILLED, OrderStatus.CANCELLED}),
        OrderStatus.FULFILLED: frozenset(),
        OrderStatus.CANCELLED: frozenset(),
    },
)
PAYMENT_MACHINE = StateMachine(
    field=OrderField.PAYMENT_STATUS,
    moves={
        PaymentStatus.PENDING: frozenset({PaymentStatus.AUTHORIZED, PaymentStatus.FAILED}),
        PaymentStatus.AUTHORIZED: frozenset({PaymentStatus.CAPTURED, PaymentStatus.VOIDED}),
        PaymentStatus.CAPTURED: frozenset(
            {PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
        ),
        PaymentStatus.PARTIALLY_REFUNDED: frozenset(
            {PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
        ),
        PaymentStatus.FAILED: frozenset({PaymentStatus.AUTHORIZED, PaymentStatus.FAILED}),
        PaymentStatus.REFUNDED: frozenset(),
        PaymentStatus.VOIDED: frozenset(),
    },
)


def machine_for(target: Target) -> StateMachine:
    """The machine a target state belongs to (the two sets of states do not overlap)."""
    return STATUS_MACHINE if isinstance(target, OrderStatus) else PAYMENT_MACHINE


class PaymentEventKind(StrEnum):
    """What a payment provider may report about an order's payment."""

    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    REFUNDED = "refunded"
    VOIDED = "voided"
    FAILED = "failed"


def payment_status_for_event(kind: PaymentEventKind, *, fully_refunded: bool) -> PaymentStatus:
    """The payment status an event of ``kind`` moves to; ``fully_refunded``: the refunds,
    this one included, add up to the captured amount."""
    if kind is PaymentEventKind.REFUNDED:
        return PaymentStatus.REFUNDED if fully_refunded else PaymentStatus.PARTIALLY_REFUNDED
    return PaymentStatus(kind.value)
