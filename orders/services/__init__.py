"""The orders domain's services. They take plain ids and values, never a request or a token:
each surface's views turn their caller into those.

- ``placement``: ``order_place_from_cart`` (a shopper's checkout) and ``order_place_from_lines``
  (a partner's lines), on one path of pricing, stock and order numbers;
- ``transitions``: ``order_transition`` for every move of ``orders.states``' state machines;
- ``payments``: ``payment_event_apply``, a payment provider's event on an order.
"""

from orders.services.payments import (
    PaymentEventApplied,
    PaymentTotals,
    payment_event_apply,
    payment_totals,
)
from orders.services.placement import (
    LineRequest,
    PlacedOrder,
    order_place_from_cart,
    order_place_from_lines,
    order_placed_emit,
)
from orders.services.transitions import (
    order_qs_select_for_update,
    order_transition,
    order_transition_locked,
)

__all__ = [
    "LineRequest",
    "PaymentEventApplied",
    "PaymentTotals",
    "PlacedOrder",
    "order_place_from_cart",
    "order_place_from_lines",
    "order_placed_emit",
    "order_qs_select_for_update",
    "order_transition",
    "order_transition_locked",
    "payment_event_apply",
    "payment_totals",
]
